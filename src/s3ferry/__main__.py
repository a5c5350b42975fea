from s3ferry.cli.app import main

main()

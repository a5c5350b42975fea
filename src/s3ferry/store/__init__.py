"""The storage edge: every S3 request goes through it."""

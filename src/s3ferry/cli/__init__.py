"""The typer command line: parses, renders, maps errors to exit codes; no transfer logic."""

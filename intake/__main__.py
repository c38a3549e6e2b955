"""`python -m intake`: the `intake` command, run from a checkout (how deploy/ runs it)."""

from intake.cli.main import main

if __name__ == "__main__":
    main(prog_name="intake")

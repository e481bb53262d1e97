"""`python -m agent.cli`: the same as the `dialogpaint` console script."""

from agent.cli.app import main

if __name__ == "__main__":
    main()

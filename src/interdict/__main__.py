from interdict.cli import main

if __name__ == "__main__":  # worker processes (batch linkage) import this module again
    main()

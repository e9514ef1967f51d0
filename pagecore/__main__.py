from pagecore.cli import main

# a worker process that multiprocessing spawns imports this module again, under
# another name: only the command itself runs the command line
if __name__ == "__main__":
    raise SystemExit(main())

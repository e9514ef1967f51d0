from pagecore.cli import main

raise SystemExit(main())

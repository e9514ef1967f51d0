from pagecore._cli import main

raise SystemExit(main())

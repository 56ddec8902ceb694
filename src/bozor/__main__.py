from bozor.cli import main

main()

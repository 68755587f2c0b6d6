from agenttrace.cli import main

main()

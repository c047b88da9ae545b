from cqbot.cli import main

main()

from touchline.cli import main

main()

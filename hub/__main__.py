from hub.cli import main

main(prog_name="hub")

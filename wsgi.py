from hub import create_app

app = create_app()

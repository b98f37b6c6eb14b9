print("concepts")

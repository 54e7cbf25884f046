"""What every stage verb of the gan family imports (its params, networks and stored weights), one DVC
dependency folder for all of them."""

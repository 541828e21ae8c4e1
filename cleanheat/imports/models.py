"""The imports app keeps no models: its jobs live in cleanheat.jobs (the table moved with them)."""

"""The shipped demo: a tiny project, four stories and the script that plays the agents offline."""

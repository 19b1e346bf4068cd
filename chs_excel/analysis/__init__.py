"""What the scores mean together: targets per segment x stage, separation of churned from retained, history, spread."""

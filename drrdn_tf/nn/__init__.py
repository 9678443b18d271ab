"""Network pieces: the encoders (`backbones`), DRRDN's layers (`layers`), CPU drop-ins (`fast`)."""

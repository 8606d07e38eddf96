"""Front doors: wire protocols in, engine calls out. Edge checks happen here, once."""

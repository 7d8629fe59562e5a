package main

// cloudFakeCmds are script commands that start fake cloud registries.
var cloudFakeCmds = map[string]scriptCmd{}

package main

// storeCmds are script commands for checking what login stored.
var storeCmds = map[string]scriptCmd{}

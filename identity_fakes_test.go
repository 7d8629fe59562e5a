package main

// identityFakeCmds are script commands that start fake identity endpoints.
var identityFakeCmds = map[string]scriptCmd{}

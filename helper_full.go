//go:build !smallhelper

package main

// mintsInProcess is true: the full binary links every minting source.
const mintsInProcess = true

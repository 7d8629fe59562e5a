module github.com/flux-mirror/flux-mirror

go 1.26.0

require (
	github.com/rogpeppe/go-internal v1.16.0
	golang.org/x/sys v0.47.0
)

require golang.org/x/tools v0.49.0 // indirect

package main

import (
	"context"
	"errors"
)

// destination says where a credential is (or would be) stored.
type destination struct {
	// Helper is the credential helper's name (the suffix after
	// docker-credential-); empty when the credential goes in config.json.
	Helper string
	// Path is the config.json path.
	Path string
}

// dockerStore is one run's hold on a Docker config folder: its lock, the
// config.json as loaded, and the changes to write.
type dockerStore struct{}

// dockerConfigDir is --docker-config, else $DOCKER_CONFIG, else ~/.docker.
func dockerConfigDir(flagDir string) (string, error) {
	return "", errors.New("dockerConfigDir: not implemented")
}

// openDockerStore locks the Docker config folder dir and loads its
// config.json.
func openDockerStore(dir string) (*dockerStore, error) {
	return nil, errors.New("openDockerStore: not implemented")
}

// store stores a for host: a registry token in config.json, a
// username/password pair through the host's credential helper or in
// config.json. ctx bounds a helper call.
func (s *dockerStore) store(ctx context.Context, host string, a hostAuth, plaintext bool) (destination, error) {
	return destination{}, errors.New("store: not implemented")
}

// save writes config.json once, if anything changed.
func (s *dockerStore) save() error { return errors.New("save: not implemented") }

// close releases the lock.
func (s *dockerStore) close() {}

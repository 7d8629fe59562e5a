package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// configPath returns the config to read: --config if set, else
// $FLUX_MIRROR_CONFIG if set, else the running executable's path plus
// ".config". "-" stands for stdin.
func configPath(flagPath string, getenv func(string) string, executable func() (string, error)) (string, error) {
	if flagPath != "" {
		return flagPath, nil
	}
	if p := getenv("FLUX_MIRROR_CONFIG"); p != "" {
		return p, nil
	}
	exe, err := executable()
	if err != nil {
		return "", fmt.Errorf("resolve default config path: %w", err)
	}
	return exe + ".config", nil
}

// readConfig reads the config at path, or stdin for "-", and returns it
// with the folder its path fields are relative to: the file's folder, or
// the working directory for stdin, which has no folder of its own.
func readConfig(path string, stdin io.Reader) (data []byte, dir string, err error) {
	if path == "-" {
		if data, err = readAtMost(stdin); err != nil {
			return nil, "", fmt.Errorf("read config: %w", err)
		}
		if dir, err = os.Getwd(); err != nil {
			return nil, "", fmt.Errorf("config from stdin: %w", err)
		}
		return data, dir, nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, "", folderGiven(path)
	}
	f, err := openRegular(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			// The path leads the message, as every config error's does.
			return nil, "", fmt.Errorf("%s: %w", path, pe.Err)
		}
		// A FIFO, a device or a socket: the error names the path first.
		return nil, "", err
	}
	defer f.Close()
	if data, err = readAtMost(f); err != nil {
		return nil, "", fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", fmt.Errorf("open config: %w", err)
	}
	return data, filepath.Dir(abs), nil
}

// folderGiven is the error of -f naming a folder: it names the YAML file
// in it when there is only one.
func folderGiven(path string) error {
	var yamls []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		m, _ := filepath.Glob(filepath.Join(globEscape(path), pattern))
		yamls = append(yamls, m...)
	}
	if len(yamls) == 1 {
		return fmt.Errorf("%s is a folder, not a config file; did you mean -f %s?", path, yamls[0])
	}
	return fmt.Errorf("%s is a folder, not a config file; give -f the config file's path", path)
}

// openRegular opens the config file at path for reading, refusing anything
// but a regular file (a symlink to one is fine). The open does not wait
// for a FIFO's writer: a FIFO, a device or a folder at the path is an
// error at once, never a hang (of login, or of completion at TAB).
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNoBlock, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotRegular(path, fi.Mode())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// maxConfigSize bounds the config: a 200-host config is about 20 KiB, and
// a file past the bound (a wrong path, /dev/zero, a hostile pipe) would
// otherwise be read and parsed whole.
const maxConfigSize = 4 << 20

var errConfigSize = fmt.Errorf("config is larger than %d MiB", maxConfigSize>>20)

// readAtMost reads r to the end, but no more than one byte past
// maxConfigSize: enough for parseConfig to refuse it.
func readAtMost(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, maxConfigSize+1))
}

// folder is the config folder, which path fields must stay inside.
type folder struct {
	dir  string // absolute
	root *os.Root
}

func openFolder(dir string) (*folder, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open config folder: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open config folder: %w", err)
	}
	return &folder{dir: abs, root: root}, nil
}

func (f *folder) close() { f.root.Close() }

// confine checks that the path in field p stays inside the folder and
// returns it relative to the folder; an empty p stays empty. A path that
// leaves the folder is refused, never re-rooted, which would read a file
// the user did not name: "../x", an
// absolute path elsewhere, or a symlink on the way that points out. The
// file need not exist yet: login reads it later, through the same os.Root.
func (f *folder) confine(field, p string) (string, error) {
	if p == "" {
		return "", nil
	}
	rel := p
	if filepath.IsAbs(p) {
		r, err := f.relative(p)
		if err != nil {
			return "", f.escapes(field, p)
		}
		rel = r
	}
	if !filepath.IsLocal(filepath.Clean(rel)) {
		return "", f.escapes(field, p)
	}
	// rel is kept as written, not cleaned: with a symlink before a "..",
	// "link/../x" and "x" are different files. Stat resolves the path the
	// way the later read will and fails on a symlink that leads out of the
	// root, with os's unexported "path escapes from parent" error. Stat
	// does not open the file: the tls files are checked, not read.
	_, err := f.root.Stat(rel)
	var pe *fs.PathError
	switch {
	case err == nil, errors.Is(err, fs.ErrNotExist):
		return rel, nil
	case errors.As(err, &pe) && pe.Err.Error() == "path escapes from parent":
		return "", f.escapes(field, p)
	default:
		return "", fmt.Errorf("%s %q: %w", field, p, err)
	}
}

// relative returns the absolute path p relative to the folder. It keeps
// what follows the folder as written: filepath.Rel would drop "sym/.." as
// text, where the kernel, and os.Root, climb from the symlink's target.
// A path that does not start with the folder has its parent folder
// resolved first, as the kernel would, and is compared with the real
// folder.
func (f *folder) relative(p string) (string, error) {
	if rest, ok := strings.CutPrefix(p, f.dir+string(filepath.Separator)); ok {
		return rest, nil
	}
	base := f.dir
	dir, name := splitLast(p)
	if realDir, err := filepath.EvalSymlinks(dir); err == nil {
		if realBase, err := filepath.EvalSymlinks(f.dir); err == nil {
			base, p = realBase, filepath.Join(realDir, name)
		}
	}
	return filepath.Rel(base, p)
}

func (f *folder) escapes(field, p string) error {
	return fmt.Errorf("%s %q: path escapes the config folder %s", field, p, f.dir)
}

// readFile reads a path field's file through an os.Root on c.dir, so a
// symlink placed after validation still cannot lead outside the folder.
// Like the config itself, it must be a regular file: a FIFO there would
// hang the run.
func (c *config) readFile(rel string) ([]byte, error) {
	root, err := os.OpenRoot(c.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.OpenFile(rel, os.O_RDONLY|openNoBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errNotRegular(rel, fi.Mode())
	}
	return io.ReadAll(f)
}

// splitLast splits path into the folder and the last name in it, leaving
// the folder as written: "a/sym/../b" is "a/sym/.." and "b".
func splitLast(path string) (dir, name string) {
	path = strings.TrimRight(path, string(filepath.Separator))
	i := strings.LastIndexByte(path, filepath.Separator)
	switch {
	case i < 0:
		return ".", path
	case i == 0:
		return string(filepath.Separator), path[1:]
	}
	return path[:i], path[i+1:]
}

package main

import (
	"context"
	"io"
)

// runLogout erases what login stored for the selected hosts: through the
// credential helper that holds each one, and from config.json.
func runLogout(g globalOptions, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := loginOptions{global: g}
	fs := hostFlags("logout", &o)
	_, hosts, err := o.parse(fs, args, logoutUsage, true, stdin, stdout, stderr)
	if err != nil {
		return err
	}
	store, err := o.openStore()
	if err != nil {
		return err
	}
	defer store.close()

	reports := make([]hostReport, len(hosts))
	for i, h := range hosts {
		reports[i] = hostReport{Host: h.Host, Key: registryKey(h.Host)}
		if !h.hasCredential() && o.host == "" {
			reports[i].Status, reports[i].Reason = statusSkipped, reasonNoCredential
			continue
		}
		if ok, err := eraseHelperHost(store, reports[i].Key, stderr); ok {
			if err != nil {
				reports[i].Status, reports[i].Error = statusFailed, oneLineError(err).Error()
			} else {
				reports[i].Status = statusErased
				reports[i].setDestination(destination{Helper: helperName, Path: store.path})
			}
			continue
		}
		// Each helper call has a --timeout of its own, as login's has.
		ctx, cancel := context.WithTimeout(context.Background(), o.global.timeout)
		dest, erased, err := store.erase(ctx, h.Host)
		cancel()
		switch {
		case err != nil:
			reports[i].Status, reports[i].Error = statusFailed, oneLineError(err).Error()
		case erased:
			reports[i].Status = statusErased
			reports[i].setDestination(dest)
		default:
			reports[i].Status = statusNothing
		}
	}
	if err := store.save(); err != nil {
		return err
	}
	return o.print(reports, stdout, stderr)
}

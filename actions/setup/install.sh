#!/usr/bin/env bash
# Install a flux-mirror release for the setup action (action.yml), or any
# CI job: download the platform's archive and the release's checksums
# file, refuse a sha256 mismatch (nothing is installed then), optionally
# verify the build provenance attestation with gh, extract, install the
# small docker-credential-flux-mirror beside flux-mirror, and add the
# folder to $GITHUB_PATH.
#
# Environment (the action's inputs):
#   FLUX_MIRROR_VERSION             1.2.3, v1.2.3 or latest (default)
#   FLUX_MIRROR_BINDIR              install folder (default under $RUNNER_TOOL_CACHE)
#   FLUX_MIRROR_RELEASE_URL         base URL of the release assets
#                                   (default: the GitHub release of the version)
#   FLUX_MIRROR_VERIFY_ATTESTATION  true (default) or false
#   FLUX_MIRROR_HELPER              true (default) or false
#   RUNNER_OS, RUNNER_ARCH          Linux|macOS|Windows, X64|ARM64
set -euo pipefail

repo=flux-mirror/flux-mirror
fail() { echo "✗ flux-mirror setup: $*" >&2; exit 1; }

version=${FLUX_MIRROR_VERSION:-latest}
verify=${FLUX_MIRROR_VERIFY_ATTESTATION:-true}
helper=${FLUX_MIRROR_HELPER:-true}
case $verify in true | false) ;; *) fail "verify-attestation must be true or false, got \"$verify\"" ;; esac
case $helper in true | false) ;; *) fail "helper must be true or false, got \"$helper\"" ;; esac

case ${RUNNER_OS:-$(uname -s)} in
Linux) os=linux ;;
macOS | Darwin) os=darwin ;;
Windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
*) fail "unsupported runner OS \"${RUNNER_OS:-}\"" ;;
esac
case ${RUNNER_ARCH:-$(uname -m)} in
X64 | x86_64 | amd64) arch=amd64 ;;
ARM64 | aarch64 | arm64) arch=arm64 ;;
*) fail "unsupported runner arch \"${RUNNER_ARCH:-}\"" ;;
esac

if [ "$version" = latest ]; then
	# github.com/OWNER/REPO/releases/latest redirects to .../releases/tag/vX.Y.Z.
	url=$(curl -fsSLI -o /dev/null -w '%{url_effective}' "https://github.com/$repo/releases/latest") ||
		fail "cannot resolve the latest release"
	version=${url##*/}
fi
version=${version#v}
# The version names files and the install folder: MAJOR.MINOR.PATCH with
# an optional prerelease only, the rule release/build releases by.
num='(0|[1-9][0-9]*)' ident='(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)'
LC_ALL=C
[[ $version =~ ^$num\.$num\.$num(-$ident(\.$ident)*)?$ ]] || fail "bad version \"$version\": want MAJOR.MINOR.PATCH[-PRERELEASE]"

if [ "$verify" = true ] && ! command -v gh >/dev/null 2>&1; then
	fail "verify-attestation is true but the gh CLI is not installed: install gh, or set verify-attestation: false to rely on the checksum alone"
fi

base=${FLUX_MIRROR_RELEASE_URL:-https://github.com/$repo/releases/download/v$version}
base=${base%/}
archive=flux-mirror_${version}_${os}_${arch}.tar.gz
[ "$os" = windows ] && archive=${archive%.tar.gz}.zip
checksums=flux-mirror_${version}_checksums.txt
bindir=${FLUX_MIRROR_BINDIR:-${RUNNER_TOOL_CACHE:-${TMPDIR:-/tmp}}/flux-mirror/$version/$arch}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "flux-mirror setup: downloading $base/$archive" >&2
curl -fsSL --retry 3 -o "$tmp/$archive" "$base/$archive" || fail "download $archive failed"
curl -fsSL --retry 3 -o "$tmp/$checksums" "$base/$checksums" || fail "download $checksums failed"

want=$(awk -v n="$archive" '$2 == n || $2 == "*" n { print $1 }' "$tmp/$checksums")
[ -n "$want" ] || fail "$checksums has no entry for $archive"
if command -v sha256sum >/dev/null 2>&1; then
	got=$(sha256sum "$tmp/$archive" | awk '{ print $1 }')
elif command -v shasum >/dev/null 2>&1; then
	got=$(shasum -a 256 "$tmp/$archive" | awk '{ print $1 }')
else
	got=$(openssl dgst -sha256 -r "$tmp/$archive" | awk '{ print $1 }')
fi
# A checksum from the same release proves the download is intact, not
# where it comes from; the attestation below proves the origin.
[ "$got" = "$want" ] || fail "sha256 mismatch for $archive: got $got, want $want; nothing installed"

if [ "$verify" = true ]; then
	# --signer-workflow pins the workflow that signed, not only the
	# repository: an attestation made by any other workflow of the
	# repository (a pull request's CI, say) does not pass.
	gh attestation verify "$tmp/$checksums" --repo "$repo" \
		--signer-workflow "github.com/$repo/.github/workflows/release.yml" >&2 ||
		fail "build provenance attestation of $checksums did not verify; nothing installed"
fi

# Extract into a staging folder first, so a failure installs nothing.
mkdir -p "$tmp/x"
if [ "$os" = windows ]; then
	unzip -q "$tmp/$archive" -d "$tmp/x" || fail "extract $archive failed"
	exe=flux-mirror.exe
else
	tar -xzf "$tmp/$archive" -C "$tmp/x" || fail "extract $archive failed"
	exe=flux-mirror
fi
[ -f "$tmp/x/$exe" ] || fail "$archive holds no $exe"
mkdir -p "$bindir"
cp "$tmp/x/$exe" "$bindir/$exe"
chmod 755 "$bindir/$exe"
if [ "$helper" = true ]; then
	# The small credential helper, beside flux-mirror, to which it hands
	# every mint. An archive of an older release has none: link the full
	# binary under the helper's name (Windows has no dependable symlinks
	# for a runner user, so it gets a copy).
	if [ -f "$tmp/x/docker-credential-$exe" ]; then
		cp "$tmp/x/docker-credential-$exe" "$bindir/docker-credential-$exe"
		chmod 755 "$bindir/docker-credential-$exe"
	elif [ "$os" = windows ]; then
		cp "$bindir/$exe" "$bindir/docker-credential-flux-mirror.exe"
	else
		ln -sf "$exe" "$bindir/docker-credential-flux-mirror"
	fi
fi

[ -n "${GITHUB_PATH:-}" ] && echo "$bindir" >>"$GITHUB_PATH"
[ -n "${GITHUB_OUTPUT:-}" ] && echo "version=$version" >>"$GITHUB_OUTPUT"
echo "flux-mirror setup: installed flux-mirror $version in $bindir" >&2

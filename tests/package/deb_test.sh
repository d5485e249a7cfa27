#!/usr/bin/env bash
# Checks the amd64 .deb built from this build directory (cpack -G DEB): control fields, Depends
# from shlibdeps, conffiles, maintainer scripts, files with owners and permissions, the sysusers
# file; `systemd-analyze verify` on the packaged unit; and, as root, installs it into a throwaway
# root with `dpkg --root` (maintainer scripts run chrootless with DPKG_ROOT), checks the chronus
# user, its groups and directories, then purges it (state removed, recordings kept) twice; then
# installs it once more with sample Raspberry Pi 4 + HiFiBerry detection files (CHRONUS_DT_MODEL,
# CHRONUS_ASOUND_CARDS) to check postinst's Pi branch (drop-in, unit enabled) and its purge.
# /usr/bin/chronusctl: packaged, and `--help` exits 0 from the extracted and the installed tree.
# Usage: deb_test.sh <build dir>. Exit 0 = pass, 1 = fail, 77 = skipped (reason printed).
set -uo pipefail
build=$(realpath "$1")
for tool in dpkg-deb cpack; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
failures=0
check() {  # check <description> <command...>
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$build" && cpack -G DEB -B "$work/cpack" -D CPACK_OUTPUT_FILE_PREFIX="$work/out" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log"; echo "FAIL cpack"; exit 1; }
deb=$(ls "$work"/out/chronus_*_amd64.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "FAIL no chronus_*_amd64.deb"; ls -R "$work/out"; exit 1; }
echo "package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"

# Control fields.
info=$(dpkg-deb -I "$deb")
field() { dpkg-deb -f "$deb" "$1"; }
check "Package: chronus" test "$(field Package)" = chronus
check "Architecture: amd64" test "$(field Architecture)" = amd64
depends=$(field Depends)
echo "Depends: $depends"
for dep in systemd libasound2 liblo7 libsndfile1 libsystemd0 libc6 libstdc++6; do
  check "Depends names $dep" grep -qE "(^|, )${dep//+/\\+}( |,|$)" <<<"$depends"
done
check "Depends carries versions (shlibdeps)" grep -qE 'libasound2 \(>= [0-9.]+\)' <<<"$depends"
for script in postinst prerm postrm; do
  check "control: $script, mode 755" grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$script " <<<"$info"
done
check "conffiles: /etc/chronus/chronus.toml" \
  bash -c "dpkg-deb --ctrl-tarfile '$deb' | tar -xO ./conffiles | grep -qx /etc/chronus/chronus.toml"

# Files, owners, permissions.
contents=$(dpkg-deb -c "$deb")
has() {  # has <mode> <path>
  check "$1 root/root $2" grep -qE "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \\.$2\$" <<<"$contents"
}
has -rwxr-xr-x /usr/bin/chronus
has -rwxr-xr-x /usr/bin/chronusctl
has -rw-r--r-- /usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_chronus_vcard.so
has -rw-r--r-- /lib/systemd/system/chronus.service
has -rw-r--r-- /lib/systemd/system/chronus-cpu-performance.service
has -rw-r--r-- /usr/lib/sysusers.d/chronus.conf
has -rw-r--r-- /lib/udev/rules.d/60-chronus-gpio-spi.rules
has -rw-r--r-- /etc/chronus/chronus.toml
for board in dev-virtual rpi4-hifiberry-dacplus rpi-headphones rpi-hdmi; do
  has -rw-r--r-- /usr/share/chronus/board/$board.toml
done
has -rw-r--r-- /usr/share/chronus/systemd/rpi.conf
check "nothing writable by group or others" bash -c "! grep -E '^.{5}w|^.{8}w' <<<\"\$0\"" "$contents"
check "nothing under /usr/local or the build tree" bash -c "! grep -E '\\./usr/local|$build' <<<\"\$0\"" "$contents"

dpkg-deb -x "$deb" "$work/x"
sysusers="$work/x/usr/lib/sysusers.d/chronus.conf"
check "sysusers: user chronus" grep -qE '^u chronus ' "$sysusers"
for group in audio gpio spi; do check "sysusers: chronus in $group" grep -qx "m chronus $group" "$sysusers"; done
check "the packaged firmware runs (--detect-board)" "$work/x/usr/bin/chronus" --detect-board
check "the packaged chronusctl runs (--help, exit 0)" "$work/x/usr/bin/chronusctl" --help
check "chronusctl --help prints its usage" bash -c "'$work/x/usr/bin/chronusctl' --help | grep -q Usage"

# Sample detection inputs of a Raspberry Pi 4 with a HiFiBerry DAC+ (firmware/config/board_detect.h:
# CHRONUS_DT_MODEL / CHRONUS_ASOUND_CARDS replace /proc/device-tree/model and /proc/asound/cards
# for --detect-board only), used below to take postinst's Raspberry Pi branch.
printf 'Raspberry Pi 4 Model B Rev 1.4\0' >"$work/pi4-model"
printf ' 0 [sndrpihifiberry]: RPi-simple - snd_rpi_hifiberry_dacplus\n                      snd_rpi_hifiberry_dacplus\n' >"$work/pi4-cards"
pi_env=(CHRONUS_DT_MODEL="$work/pi4-model" CHRONUS_ASOUND_CARDS="$work/pi4-cards")
check "--detect-board on the Pi 4 + HiFiBerry samples: rpi4-hifiberry-dacplus" \
  test "$(env "${pi_env[@]}" "$work/x/usr/bin/chronus" --detect-board 2>/dev/null)" = rpi4-hifiberry-dacplus
check "--detect-board with CHRONUS_DT_MODEL naming a missing file: dev-virtual" \
  test "$(CHRONUS_DT_MODEL="$work/none" "$work/x/usr/bin/chronus" --detect-board 2>/dev/null)" = dev-virtual

# systemd-analyze verify on the packaged unit, with ExecStart= pointing at the packaged binary.
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$work/unit"
  sed "s|ExecStart=/usr/bin/chronus|ExecStart=$work/x/usr/bin/chronus|" \
    "$work/x/lib/systemd/system/chronus.service" >"$work/unit/chronus.service"
  out=$(systemd-analyze verify --man=no "$work/unit/chronus.service" 2>&1 | grep -F "$work/unit" || true)
  check "systemd-analyze verify: nothing about chronus.service${out:+ ($out)}" test -z "$out"
else
  echo "skip systemd-analyze verify: systemd-analyze not installed"
fi

# Install into a throwaway root, purge.
if [ "$(id -u)" != 0 ]; then
  echo "skip dpkg --root install: needs root (files owned by root, chown to chronus)"
elif ! command -v systemd-sysusers >/dev/null; then
  echo "skip dpkg --root install: systemd-sysusers not installed"
else
  root="$work/root"
  mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
  touch "$root/var/lib/dpkg/status"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\naudio:x:29:\n' >"$root/etc/group"
  dpkg_root() {
    dpkg --root="$root" --force-script-chrootless --force-depends --force-not-root \
      --log=/dev/null "$@"
  }
  dpkg_root -i "$deb" >"$work/install.log" 2>&1
  check "dpkg --root -i succeeds (postinst on a non-Pi machine)" test $? -eq 0
  sed 's/^/  | /' "$work/install.log" | grep -E 'chronus:' || true
  check "installed: /usr/bin/chronus" test -x "$root/usr/bin/chronus"
  check "installed: /usr/bin/chronusctl, runs (--help)" "$root/usr/bin/chronusctl" --help
  check "user chronus created" grep -qE '^chronus:x:[0-9]+:[0-9]+:' "$root/etc/passwd"
  for group in audio gpio spi; do
    check "chronus in group $group" grep -qE "^$group:x:[0-9]+:(.*,)?chronus(,|$)" "$root/etc/group"
  done
  uid=$(awk -F: '$1 == "chronus" { print $3 }' "$root/etc/passwd")
  for dir in /var/lib/chronus /var/lib/chronus/recordings; do
    check "$dir: 750, owned by chronus" test "$(stat -c '%a %u' "$root$dir" 2>/dev/null)" = "750 $uid"
  done
  check "not a Pi: no Raspberry Pi drop-in" test ! -e "$root/etc/systemd/system/chronus.service.d/rpi.conf"
  check "not a Pi: chronus.service not enabled" \
    test ! -e "$root/etc/systemd/system/multi-user.target.wants/chronus.service"

  echo "patch" >"$root/var/lib/chronus/patch.toml"
  echo "take" >"$root/var/lib/chronus/recordings/take-0001.wav"
  dpkg_root --purge chronus >"$work/purge.log" 2>&1
  check "dpkg --purge succeeds" test $? -eq 0
  check "purge: binaries gone" test ! -e "$root/usr/bin/chronus"
  check "purge: chronusctl gone" test ! -e "$root/usr/bin/chronusctl"
  check "purge: /etc/chronus gone" test ! -e "$root/etc/chronus"
  check "purge: state gone" test ! -e "$root/var/lib/chronus/patch.toml"
  check "purge: recordings kept" test -f "$root/var/lib/chronus/recordings/take-0001.wav"

  rm -f "$root/var/lib/chronus/recordings/take-0001.wav"
  dpkg_root -i "$deb" >/dev/null 2>&1 && dpkg_root --purge chronus >/dev/null 2>&1
  check "purge without recordings removes /var/lib/chronus" test ! -e "$root/var/lib/chronus"

  # postinst's Raspberry Pi branch: the board detected from the sample files (dpkg passes the
  # environment to the maintainer scripts), the rpi.conf drop-in copied, the unit enabled (in the
  # throwaway root: deb-systemd-helper and systemctl --root honour DPKG_ROOT).
  env "${pi_env[@]}" dpkg --root="$root" --force-script-chrootless --force-depends \
    --force-not-root --log=/dev/null -i "$deb" >"$work/install-pi.log" 2>&1
  check "Pi: dpkg --root -i succeeds" test $? -eq 0
  sed 's/^/  | /' "$work/install-pi.log" | grep -E 'chronus:' || true
  check "Pi: postinst reports board rpi4-hifiberry-dacplus" \
    grep -q '^chronus: board rpi4-hifiberry-dacplus ' "$work/install-pi.log"
  check "Pi: drop-in /etc/systemd/system/chronus.service.d/rpi.conf = the packaged rpi.conf" \
    cmp "$root/etc/systemd/system/chronus.service.d/rpi.conf" "$root/usr/share/chronus/systemd/rpi.conf"
  wants="$root/etc/systemd/system/multi-user.target.wants/chronus.service"
  check "Pi: chronus.service enabled (multi-user.target.wants link to the unit)" \
    test "$(readlink "$wants")" = /lib/systemd/system/chronus.service
  dpkg_root --purge chronus >/dev/null 2>&1
  check "Pi: purge removes the drop-in" test ! -e "$root/etc/systemd/system/chronus.service.d"
  check "Pi: purge removes the enablement link" test ! -e "$wants" -a ! -L "$wants"
fi

echo "deb_test: $failures failure(s)"
[ "$failures" -eq 0 ]

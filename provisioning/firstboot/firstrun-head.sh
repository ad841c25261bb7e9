#!/bin/bash
# shellcheck disable=SC2317,SC2016  # wifi, static_ethernet: called only when the card has them;
# the values below are quoted literally on purpose (a Wi-Fi password may contain `$`).
# Bürgeramt Virtuell counter appliance: first run on Raspberry Pi OS Bookworm, written by
# `buergeramt provision card`. cmdline.txt starts it once (systemd.run=); it writes the same
# files as the cloud-init path, sets up the users, time zone, language and network, enables
# the installer (buergeramt-firstboot.service, on the next boot, with network), then removes
# itself from the card: it holds the enrolment token.
set -euo pipefail
umask 077  # files holding the token are never readable by others, not even for a moment

BOOT=/boot/firmware
[ -f "$BOOT/cmdline.txt" ] || BOOT=/boot

kiosk_user() {
  local user="$1"
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash \
    --groups video,audio,render,input "$user"
  passwd --lock "$user" >/dev/null
  # Bookworm asks for a user on the first boot unless one was configured.
  systemctl disable userconfig.service >/dev/null 2>&1 || true
  systemctl enable getty@tty1.service >/dev/null 2>&1 || true
}

wifi() {
  local ssid="$1" password="$2" country="$3"
  raspi-config nonint do_wifi_country "$country" 2>/dev/null || true
  mkdir -p /etc/NetworkManager/system-connections
  cat >/etc/NetworkManager/system-connections/buergeramt-wifi.nmconnection <<NM
[connection]
id=buergeramt-wifi
type=wifi
interface-name=wlan0
autoconnect=true

[wifi]
mode=infrastructure
ssid=$ssid

[wifi-security]
key-mgmt=wpa-psk
psk=$password

[ipv4]
method=auto

[ipv6]
method=auto
NM
  chmod 600 /etc/NetworkManager/system-connections/buergeramt-wifi.nmconnection
}

static_ethernet() {
  local address="$1" gateway="$2" dns="$3"
  mkdir -p /etc/NetworkManager/system-connections
  cat >/etc/NetworkManager/system-connections/buergeramt-ethernet.nmconnection <<NM
[connection]
id=buergeramt-ethernet
type=ethernet
interface-name=eth0
autoconnect=true

[ipv4]
method=manual
address1=$address,$gateway
dns=$dns;

[ipv6]
method=auto
NM
  chmod 600 /etc/NetworkManager/system-connections/buergeramt-ethernet.nmconnection
}

finish() {
  rm -f /etc/localtime
  echo "Europe/Berlin" >/etc/timezone
  dpkg-reconfigure -f noninteractive tzdata >/dev/null 2>&1 || true
  sed -i 's/^# *de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' /etc/locale.gen
  locale-gen >/dev/null 2>&1 || true
  update-locale LANG=de_DE.UTF-8 || true
  systemctl enable buergeramt-firstboot.service
  rm -f "$BOOT/firstrun.sh"
  sed -i 's| systemd.run.*||g' "$BOOT/cmdline.txt"
  exit 0
}

# The files (the same as cloud-init's write_files):

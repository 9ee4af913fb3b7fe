#!/usr/bin/env bash
# Install Debian's chromium for the book's browser check (tests/test_book.py), when it is
# missing and we can: root with apt-get. Otherwise say why and carry on. Never fails the
# caller: the browser check skips itself with a reason when chromium is absent.
if command -v chromium >/dev/null 2>&1; then
    echo "ensure_chromium: $(command -v chromium) is present"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "ensure_chromium: chromium is missing and we are not root; the browser check will be skipped"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: chromium is missing and apt-get is not available; the browser check will be skipped"
    exit 0
fi
echo "ensure_chromium: installing chromium with apt-get (a few minutes, once)"
if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/tmp/ensure_chromium.log 2>&1 \
   && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
        >>/tmp/ensure_chromium.log 2>&1; then
    echo "ensure_chromium: installed $(command -v chromium)"
else
    echo "ensure_chromium: apt-get could not install chromium (see /tmp/ensure_chromium.log); the browser check will be skipped"
fi
exit 0

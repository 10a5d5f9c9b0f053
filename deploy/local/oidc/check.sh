#!/usr/bin/env bash
# Signs in once through the local OpenID provider (deploy/local/oidc.sh) with curl alone,
# the way the gateway will: the authorization code flow with PKCE S256.
#
#   deploy/local/oidc/check.sh [--wrong-verifier] [ISSUER]
#
# 1. registers a client (POST to the registration endpoint) for http://127.0.0.1:9/cb;
# 2. sends an authorization request (PKCE S256, state, nonce, login_hint=bob) and follows
#    the redirects with a cookie jar, stopping at the first one that points at the
#    redirect URI (nothing listens there, and nothing is sent to it);
# 3. exchanges the code at the token endpoint (client_secret_basic + code_verifier);
# 4. checks the ID token's iss, aud, nonce, sub and email and the userinfo answer.
# On success it prints the ID token's claims (JSON) on stdout and exits 0.
#
# ISSUER defaults to $FLOWSVAULT_TEST_OIDC_ISSUER, else http://127.0.0.1:19400.
# --wrong-verifier sends another code_verifier than the one the challenge was made from;
# the provider must then refuse the code, so the check fails (exit 1).
# Needs curl, jq and openssl. The ID token's signature is not checked (the check is about
# the flow; the gateway's OpenID library checks signatures).

set -euo pipefail
shopt -s inherit_errexit

# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
FV_SCRIPT="oidc/check.sh"

REDIRECT_URI="http://127.0.0.1:9/cb"
LOGIN_HINT="bob"

wrong_verifier=""
issuer=""
for arg in "$@"; do
    case "$arg" in
        --wrong-verifier) wrong_verifier=1 ;;
        -h | --help)
            printf 'usage: %s [--wrong-verifier] [ISSUER]\n' "$0"
            exit 0
            ;;
        -*) fv_die "unknown option $arg" ;;
        *) issuer="$arg" ;;
    esac
done
issuer="${issuer:-${FLOWSVAULT_TEST_OIDC_ISSUER:-http://127.0.0.1:19400}}"
issuer="${issuer%/}"

for tool in curl jq openssl; do
    command -v "$tool" >/dev/null 2>&1 || fv_die "$tool is not installed (Debian: apt-get install $tool)"
done

work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT
jar="$work/cookies"

b64url() {
    base64 -w 0 | tr '+/' '-_' | tr -d '='
}

# Decodes base64url (no padding) to stdout.
b64url_decode() {
    local s="$1"
    s="${s//-/+}"
    s="${s//_//}"
    while (((${#s} % 4) != 0)); do
        s+="="
    done
    printf '%s' "$s" | base64 -d
}

# Percent-decodes a query value (with + as space).
urldecode() {
    local s="${1//+/ }"
    printf '%b' "${s//%/\\x}"
}

# query_param URL NAME: the decoded value of NAME in URL's query (empty when absent).
query_param() {
    local query="${1#*\?}" pair
    query="${query%%#*}"
    local IFS='&'
    for pair in $query; do
        if [[ "${pair%%=*}" == "$2" ]]; then
            urldecode "${pair#*=}"
            return 0
        fi
    done
}

uri_encode() {
    jq -rn --arg v "$1" '$v | @uri'
}

# 0. Discovery.
curl -fsS -m 10 -o "$work/discovery.json" "$issuer/.well-known/openid-configuration" ||
    fv_die "no OpenID provider answers at $issuer (start one: deploy/local/oidc.sh start)"
endpoint() {
    jq -er --arg k "$1" '.[$k] // empty' "$work/discovery.json" || fv_die "discovery at $issuer lists no $1"
}
authorization_endpoint="$(endpoint authorization_endpoint)"
token_endpoint="$(endpoint token_endpoint)"
userinfo_endpoint="$(endpoint userinfo_endpoint)"
registration_endpoint="$(endpoint registration_endpoint)"
[[ "$(jq -r .issuer "$work/discovery.json")" == "$issuer" ]] ||
    fv_die "discovery names issuer $(jq -r .issuer "$work/discovery.json"), not $issuer"

# 1. Dynamic client registration.
jq -n --arg uri "$REDIRECT_URI" '{
    client_name: "flowsvault oidc check",
    redirect_uris: [$uri],
    response_types: ["code"],
    grant_types: ["authorization_code"],
    token_endpoint_auth_method: "client_secret_basic"
}' >"$work/registration-request.json"
status="$(curl -sS -m 10 -o "$work/client.json" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary "@$work/registration-request.json" \
    "$registration_endpoint")"
[[ "$status" == 201 ]] || fv_die "registration answered $status: $(cat "$work/client.json")"
client_id="$(jq -er .client_id "$work/client.json")"
client_secret="$(jq -er .client_secret "$work/client.json")"
fv_note "registered client $client_id"

# 2. Authorization request with PKCE S256, following redirects up to the redirect URI.
verifier="$(head -c 32 /dev/urandom | b64url)"
challenge="$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | b64url)"
state="$(head -c 16 /dev/urandom | b64url)"
nonce="$(head -c 16 /dev/urandom | b64url)"

url="$(curl -sS -m 10 -o /dev/null -w '%{redirect_url}' -b "$jar" -c "$jar" --get \
    --data-urlencode "response_type=code" \
    --data-urlencode "client_id=$client_id" \
    --data-urlencode "redirect_uri=$REDIRECT_URI" \
    --data-urlencode "scope=openid email profile" \
    --data-urlencode "state=$state" \
    --data-urlencode "nonce=$nonce" \
    --data-urlencode "code_challenge=$challenge" \
    --data-urlencode "code_challenge_method=S256" \
    --data-urlencode "login_hint=$LOGIN_HINT" \
    "$authorization_endpoint")"
hops=1
while [[ "$url" != "$REDIRECT_URI"\?* && "$url" != "$REDIRECT_URI#"* ]]; do
    [[ -n "$url" ]] || fv_die "hop $hops of the authorization request did not redirect"
    [[ "$url" == "$issuer/"* ]] || fv_die "redirected outside the provider, to $url"
    hops=$((hops + 1))
    [[ "$hops" -le 10 ]] || fv_die "more than 10 redirects; last: $url"
    url="$(curl -sS -m 10 -o "$work/page" -w '%{redirect_url}' -b "$jar" -c "$jar" "$url")"
done
fv_note "reached the redirect URI after $hops redirects"

error="$(query_param "$url" error)"
[[ -z "$error" ]] || fv_die "the provider answered error=$error: $(query_param "$url" error_description)"
code="$(query_param "$url" code)"
returned_state="$(query_param "$url" state)"
returned_iss="$(query_param "$url" iss)"
[[ -n "$code" ]] || fv_die "no code in $url"
[[ "$returned_state" == "$state" ]] || fv_die "state came back as '$returned_state', sent '$state'"
if [[ -n "$returned_iss" && "$returned_iss" != "$issuer" ]]; then
    fv_die "iss in the authorization response is $returned_iss, not $issuer"
fi

# 3. Token request: client_secret_basic (RFC 6749 2.3.1: id and secret form-encoded first).
if [[ -n "$wrong_verifier" ]]; then
    fv_note "sending a wrong code_verifier on purpose (--wrong-verifier)"
    verifier="$(head -c 32 /dev/urandom | b64url)"
fi
status="$(curl -sS -m 10 -o "$work/token.json" -w '%{http_code}' \
    -u "$(uri_encode "$client_id"):$(uri_encode "$client_secret")" \
    --data-urlencode "grant_type=authorization_code" \
    --data-urlencode "code=$code" \
    --data-urlencode "redirect_uri=$REDIRECT_URI" \
    --data-urlencode "code_verifier=$verifier" \
    "$token_endpoint")"
[[ "$status" == 200 ]] || fv_die "the token endpoint answered $status: $(cat "$work/token.json")"
id_token="$(jq -er .id_token "$work/token.json")"
access_token="$(jq -er .access_token "$work/token.json")"

# 4. The ID token's claims, then userinfo.
IFS=. read -r _ payload _ <<<"$id_token"
b64url_decode "$payload" >"$work/claims.json"
jq -e . "$work/claims.json" >/dev/null || fv_die "the ID token payload is not JSON"
expect() {
    local got
    got="$(jq -r "$1" "$work/claims.json")"
    [[ "$got" == "$2" ]] || fv_die "ID token: $1 is '$got', expected '$2'"
}
expect .iss "$issuer"
expect '.aud | if type == "array" then join(" ") else . end' "$client_id"
expect .nonce "$nonce"
expect .sub "$LOGIN_HINT"
expect .email "$LOGIN_HINT@example.test"
expect .email_verified true

status="$(curl -sS -m 10 -o "$work/userinfo.json" -w '%{http_code}' \
    -H "Authorization: Bearer $access_token" "$userinfo_endpoint")"
[[ "$status" == 200 ]] || fv_die "userinfo answered $status: $(cat "$work/userinfo.json")"
[[ "$(jq -r .email "$work/userinfo.json")" == "$LOGIN_HINT@example.test" ]] ||
    fv_die "userinfo names another email: $(cat "$work/userinfo.json")"

fv_note "OK: code flow with PKCE S256 as $LOGIN_HINT at $issuer"
jq . "$work/claims.json"

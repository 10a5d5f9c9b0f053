"""Schemathesis extensions for the run of deploy/local/schemathesis.sh (loaded through
`hooks` in schemathesis.toml).

1. tus bodies. PATCH /api/uploads/{id} and POST /api/uploads (creation-with-upload) take
   `application/offset+octet-stream`, for which schemathesis has no serializer: without
   one it reports "Serialization not possible" and tests neither operation. The bytes go
   out as they would for `application/octet-stream`, under the declared Content-Type.

2. The key under test. The fuzzing phases reuse values seen in responses, so the id of
   that very key (listed by GET /api/keys) can come back as the `id` of
   DELETE /api/keys/{id}; revoking it would leave every later request a 401, which the
   document allows, and the rest of the run would test nothing while passing. Such a
   request is sent for an id that names no key instead (a 404, as for any unknown id).
   schemathesis.sh passes the id in FLOWSVAULT_SCHEMATHESIS_KEY_ID and checks after the
   run that the key still works.
"""

import os

import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

REVOKE_KEY = "DELETE /api/keys/{id}"
KEY_UNDER_TEST = os.environ.get("FLOWSVAULT_SCHEMATHESIS_KEY_ID", "").strip().lower()
NO_SUCH_KEY = "00000000-0000-4000-8000-000000000000"


@schemathesis.hook
def before_call(context, case, kwargs):
    if not KEY_UNDER_TEST or case.operation.label != REVOKE_KEY:
        return
    parameters = case.path_parameters
    if isinstance(parameters, dict) and str(parameters.get("id", "")).strip().lower() == KEY_UNDER_TEST:
        parameters["id"] = NO_SUCH_KEY

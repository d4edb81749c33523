"""The original tutorial's Python signing server (RAM user variant), kept as it is: one STS
AssumeRole through alibabacloud-sts20150401 on every request, then the tutorial's own V4 signing.

The benchmark runs it under the same gunicorn config as our server, as `bench.tutorial_app:app`.
Differences from the tutorial: the STS endpoint comes from STS_ENDPOINT (the loopback stand-in),
the bucket from OSS_BUCKET, and `utcfromtimestamp` is written as its non-deprecated equivalent;
the computation is the same. Its flaws (open endpoint, no
session policy, 3 h policy on 1 h credentials, no size or key limits) are left in on purpose:
this is the design we measure against, not one to copy.
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import time

from alibabacloud_sts20150401 import models as sts_20150401_models
from alibabacloud_sts20150401.client import Client as Sts20150401Client
from alibabacloud_tea_openapi.models import Config
from flask import Flask, jsonify

app = Flask(__name__)


def hmacsha256(key, data):
    mac = hmac.new(key, data.encode(), hashlib.sha256)
    return mac.digest()


def _endpoint():
    protocol, _, host = os.environ["STS_ENDPOINT"].partition("://")
    return protocol, host


@app.route('/generate_signature', methods=['GET'])
def generate_signature():
    access_key_id = os.environ.get('OSS_ACCESS_KEY_ID')
    access_key_secret = os.environ.get('OSS_ACCESS_KEY_SECRET')
    role_arn_for_oss_upload = os.environ.get('OSS_STS_ROLE_ARN')

    role_session_name = 'role_session_name'
    bucket = os.environ.get('OSS_BUCKET', 'examplebucket')
    region_id = 'cn-hangzhou'

    protocol, endpoint = _endpoint()
    config = Config(
        region_id=region_id,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        endpoint=endpoint,
        protocol=protocol,
    )

    # A new STS client and one AssumeRole for every request, as in the tutorial.
    sts_client = Sts20150401Client(config=config)
    assume_role_request = sts_20150401_models.AssumeRoleRequest(
        role_arn=role_arn_for_oss_upload,
        role_session_name=role_session_name
    )
    response = sts_client.assume_role(assume_role_request)
    token_data = response.body.credentials.to_map()

    sts_accesskeyid = token_data['AccessKeyId']
    sts_accesskeysecret = token_data['AccessKeySecret']
    security_token = token_data['SecurityToken']

    now = int(time.time())
    dt_obj = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).replace(tzinfo=None)
    dt_obj_plus_3h = dt_obj + datetime.timedelta(hours=3)
    dt_obj_1 = dt_obj.strftime('%Y%m%dT%H%M%S') + 'Z'
    dt_obj_2 = dt_obj.strftime('%Y%m%d')
    expiration_time = dt_obj_plus_3h.strftime('%Y-%m-%dT%H:%M:%S.000Z')

    policy = {
        "expiration": expiration_time,
        "conditions": [
            {"bucket": bucket},
            {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
            {"x-oss-credential": f"{sts_accesskeyid}/{dt_obj_2}/cn-hangzhou/oss/aliyun_v4_request"},
            {"x-oss-security-token": security_token},
            {"x-oss-date": dt_obj_1},
        ]
    }
    policy_str = json.dumps(policy).strip()

    stringToSign = base64.b64encode(policy_str.encode()).decode()

    dateKey = hmacsha256(("aliyun_v4" + sts_accesskeysecret).encode(), dt_obj_2)
    dateRegionKey = hmacsha256(dateKey, "cn-hangzhou")
    dateRegionServiceKey = hmacsha256(dateRegionKey, "oss")
    signingKey = hmacsha256(dateRegionServiceKey, "aliyun_v4_request")

    result = hmacsha256(signingKey, stringToSign)
    signature = result.hex()

    return jsonify({
        "policy": stringToSign,
        "x_oss_signature_version": "OSS4-HMAC-SHA256",
        "x_oss_credential": f"{sts_accesskeyid}/{dt_obj_2}/cn-hangzhou/oss/aliyun_v4_request",
        "x_oss_date": dt_obj_1,
        "signature": signature,
        "security_token": security_token
    })

"""One made-up secret of every kind the guard finds, in the line a person would paste it in.

None of these is a real credential: each is built here to have its vendor's shape (prefix,
length, alphabet, and where the vendor adds one, the checksum-free marker). Tests across the
suite send them through every door and dialect.
"""

from __future__ import annotations

# kind -> (the secret, a line holding it as it would be pasted)
AWS_ACCESS_KEY = "AKIAZ3QRT7LMNB4WXY2P"
AWS_SECRET_KEY = "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"
OPENAI_KEY = "sk-proj-Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6kM9nP2rS5uV8xA1cD4fG7iL0oR3t"
ANTHROPIC_KEY = "sk-ant-api03-" + "Qx7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0Mn" * 3 + "AA"
GITHUB_TOKEN = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK_TOKEN = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
GOOGLE_API_KEY = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
AZURE_STORAGE_KEY = "Zm9vYmFy" * 11
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIi"
    "wiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
DB_PASSWORD = "s3cr3tP4ssw0rd"
DOTENV_PASSWORD = "correcthorsebattery9"
ENTROPY_SECRET = "Zk3pQ9xW2mN7vB4cR8tY1uI6oP0aS5dF"

SECRETS: dict[str, tuple[str, str]] = {
    "aws_access_key": (AWS_ACCESS_KEY, f"aws_access_key_id = {AWS_ACCESS_KEY}"),
    "aws_secret_key": (AWS_SECRET_KEY, f'aws_secret_access_key = "{AWS_SECRET_KEY}"'),
    "openai_key": (OPENAI_KEY, f"OPENAI_API_KEY={OPENAI_KEY}"),
    "anthropic_key": (ANTHROPIC_KEY, f"export ANTHROPIC_API_KEY={ANTHROPIC_KEY}"),
    "github_token": (GITHUB_TOKEN, f"git clone https://x:{GITHUB_TOKEN}@github.com/o/r"),
    "slack_token": (SLACK_TOKEN, f"SLACK_BOT={SLACK_TOKEN}"),
    "stripe_key": (STRIPE_KEY, f"stripe.api_key = '{STRIPE_KEY}'"),
    "gcp_api_key": (GOOGLE_API_KEY, f"https://maps.googleapis.com/api?key={GOOGLE_API_KEY}"),
    "azure_storage_key": (
        AZURE_STORAGE_KEY,
        f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={AZURE_STORAGE_KEY};",
    ),
    "private_key": (PRIVATE_KEY, f"id_rsa:\n{PRIVATE_KEY}\n"),
    "jwt": (JWT, f"Authorization: Bearer {JWT}"),
    "url_password": (DB_PASSWORD, f"DATABASE_URL=postgres://app:{DB_PASSWORD}@db:5432/app"),
    "secret_assignment": (DOTENV_PASSWORD, f"DB_PASSWORD={DOTENV_PASSWORD}"),
    "high_entropy_string": (ENTROPY_SECRET, f'signing_key = "{ENTROPY_SECRET}"'),
}

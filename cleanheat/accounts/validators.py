import re

from django.core.exceptions import ValidationError

CLASSES = [("大写字母", r"[A-Z]"), ("小写字母", r"[a-z]"), ("数字", r"\d"), ("符号", r"[^A-Za-z0-9]")]


class CharacterClassValidator:
    """At least `min_classes` of: upper-case, lower-case, digits, symbols (等保 password complexity)."""

    def __init__(self, min_classes=3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        present = sum(bool(re.search(pattern, password)) for _, pattern in CLASSES)
        if present < self.min_classes:
            raise ValidationError(
                f"密码须至少包含大写字母、小写字母、数字、符号中的{self.min_classes}类",
                code="password_too_simple")

    def get_help_text(self):
        return f"密码须至少包含大写字母、小写字母、数字、符号中的{self.min_classes}类。"

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from cleanheat.audit.services import client_ip

from .services import login_paused


class ThrottledModelBackend(ModelBackend):
    """ModelBackend that refuses, without saying why, a login paused for its source address
    (every login door goes through here: the login page and the admin site). The password is
    hashed all the same, so a paused try takes as long as any other."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        username = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if request is not None and username is not None and login_paused(username, client_ip(request)):
            get_user_model()().set_password(password)
            return None
        return super().authenticate(request, username, password, **kwargs)

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_POST

from cleanheat.access import any_user, requires
from cleanheat.audit.services import record
from cleanheat.versions import StaleEdit, changes_seen, rebased_data

from . import services, tokens
from .forms import LoginForm, UserForm
from .roles import API_TOKENS, MANAGE_USERS


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
        update_session_auth_hash(self.request, user)
        record("password_change", request=self.request, user=user, region_code=user.region_scope)
        messages.success(self.request, "密码已修改")
        return response


login_view = LoginView.as_view()
logout_view = any_user(auth_views.LogoutView.as_view())
password_change_view = any_user(PasswordChangeView.as_view())


def _form_errors(form, error):
    for field, msgs in error.message_dict.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)


@requires(MANAGE_USERS)
def user_list(request):
    users = services.with_pause_state(services.manageable_users(request.user), request.user)
    q = request.GET.get("q", "").strip()
    if q:
        users = users.filter(username__contains=q) | users.filter(full_name__contains=q)
    return render(request, "accounts/user_list.html", {"users": users[:500], "q": q})


@requires(MANAGE_USERS)
def user_create(request):
    form = UserForm(request.POST or None, organisations=services.manageable_organisations(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            user, password = services.create_user(request.user, form.cleaned_data, request=request)
            messages.success(request, f"已创建用户 {user.username}，初始密码：{password}（首次登录须修改）")
            return redirect("user_edit", user_id=user.pk)
        except ValidationError as error:
            _form_errors(form, error)
    return render(request, "accounts/user_form.html", {"form": form})


@requires(MANAGE_USERS)
def user_edit(request, user_id):
    target = get_object_or_404(services.manageable_users(request.user), pk=user_id)
    form = _user_form(request, request.POST or None, target)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.update_user(request.user, target, form.cleaned_data, request=request,
                                 expected_version=form.cleaned_data["version"] or None)
            messages.success(request, "已保存")
            return redirect("user_edit", user_id=target.pk)
        except StaleEdit as stale:
            target = get_object_or_404(services.manageable_users(request.user), pk=user_id)
            current = _user_form(request, None, target)
            conflict = changes_seen(form, current)
            form = _user_form(request, rebased_data(form, current, services.user_version(target)), target)
            form.is_valid()
            form.add_error(None, stale.messages[0])
        except ValidationError as error:
            _form_errors(form, error)
    pauses = services.active_throttles(request.user).filter(username=target.username[:services.USERNAME_KEPT])
    return render(request, "accounts/user_form.html", {"form": form, "target": target, "pauses": pauses,
                                                       "conflict": conflict})


def _user_form(request, data, target):
    initial = {"username": target.username, "full_name": target.full_name, "organisation": target.organisation,
               "role": target.role, "region_scope": target.region_scope, "is_active": target.is_active,
               "version": services.user_version(target)}
    return UserForm(data, initial=initial, editing=True, organisations=services.manageable_organisations(request.user))


@require_POST
@requires(MANAGE_USERS)
def user_reset_password(request, user_id):
    target = get_object_or_404(services.manageable_users(request.user), pk=user_id)
    password = services.reset_password(request.user, target, request=request)
    messages.success(request, f"已重置 {target.username} 的密码，临时密码：{password}（登录后须修改）")
    return redirect("user_edit", user_id=target.pk)


@require_POST
@requires(MANAGE_USERS)
def user_unlock(request, user_id):
    target = get_object_or_404(services.manageable_users(request.user), pk=user_id)
    lifted = services.unlock(request.user, target, request=request)
    messages.success(request, f"已解除 {target.username} 的{lifted}项登录暂停或告警")
    return redirect("user_edit", user_id=target.pk)


@require_POST
@requires(MANAGE_USERS)
def throttle_lift(request, throttle_id):
    throttle = get_object_or_404(services.active_throttles(request.user), pk=throttle_id)
    services.lift_throttle(request.user, throttle, request=request)
    messages.success(request, f"已解除：{throttle}")
    return redirect("audit")


@requires(API_TOKENS)
def user_tokens(request, user_id):
    """An integration user's API tokens; a new one is shown on this answer only (never stored)."""
    target = get_object_or_404(services.manageable_users(request.user), pk=user_id)
    issued, errors = None, {}
    form = {"name": "", "days": "90"}
    if request.method == "POST":
        form = {"name": request.POST.get("name", ""), "days": request.POST.get("days", "")}
        try:
            row, token = tokens.issue(request.user, target, form["name"], form["days"], request=request)
            issued = {"row": row, "token": token}
            form = {"name": "", "days": "90"}
        except ValidationError as error:
            errors = error.message_dict
    rows = tokens.tokens_visible_to(request.user).filter(user=target)
    return render(request, "accounts/tokens.html", {"target": target, "tokens": rows, "issued": issued,
                                                    "errors": errors, "form": form, "now": timezone.now()})


@require_POST
@requires(API_TOKENS)
def token_revoke(request, token_id):
    row = tokens.revoke(request.user, token_id, request=request)
    messages.success(request, f"已吊销令牌 {row.hint}…（{row.name}）")
    return redirect("user_tokens", user_id=row.user_id)

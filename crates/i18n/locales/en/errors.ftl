# What a page says when something is refused. The JSON API keeps its own
# English messages (docs/api.md); these are for people.

## Refusals of a use case, by kind.
error-invalid-code = That code is wrong, expired or already used.
error-code-already-used = That code was already used. Wait for the next code in your app and enter it.
error-captcha-failed = The sign-in puzzle expired or was not solved; please try again.
error-captcha-too-easy = After several wrong passwords for this address, signing in needs a harder puzzle. Your browser solves it when you sign in again; it may take a little longer.
error-step-up-required = Confirm it is you first, then try again.
error-email-unverified = Confirm your e-mail address first with the code we sent you.
error-too-many-attempts = Too many attempts. Please wait { $wait } and try again.
error-security-hold = Withdrawals are paused by a security hold until { $until }.
error-invalid-credentials = That e-mail and password were not accepted.
error-unauthorized = Sign in again: the session or sign-in has expired.
error-forbidden = You are not allowed to do this.
error-not-found = There is nothing here.
error-conflict = This cannot be done now. Reload the page and try again.
error-payload-too-large = What you sent is too large.
error-unsupported-media = This kind of file is not accepted.
error-unavailable = The service is briefly unavailable; try again.
error-busy = The service is busy; try again in a moment.
error-internal = Something went wrong on our side.
error-invalid = This value is not accepted.
error-wait-seconds = { $n ->
        [one] { $n } second
       *[other] { $n } seconds
    }
error-wait-minutes = { $n ->
        [one] { $n } minute
       *[other] { $n } minutes
    }
error-wait-hours = { $n ->
        [one] { $n } hour
       *[other] { $n } hours
    }

## Refusals of a field, by what was wrong with it.
invalid-required = This is required.
invalid-email = Enter an e-mail address such as name@example.com.
invalid-email-too-long = This e-mail address is too long.
invalid-email-invisible = The e-mail address must not contain invisible or text-direction characters.
invalid-email-spaces = The e-mail address must not contain spaces or control characters.
invalid-email-bare = Enter the bare address such as name@example.com, without a name, quotes, brackets or comments.
invalid-email-one-at = The e-mail address must contain exactly one @.
invalid-email-local-length = The part before @ must be 1 to 64 characters.
invalid-email-local-chars = The part before @ may only hold letters, digits and . ! # $ % & ' * + - / = ^ _ ` { "{" } | { "}" } ~
invalid-email-local-dots = The part before @ must not start or end with a dot or hold two in a row.
invalid-email-local-scripts = The part before @ must not mix letters of different scripts (e.g. Latin and Cyrillic).
invalid-email-domain = The domain of the e-mail address is not a valid domain name.
invalid-email-domain-dot = The domain of the e-mail address must contain a dot.
invalid-email-domain-scripts = The domain must not mix letters of different scripts (e.g. Latin and Cyrillic).
invalid-password-short = The password must be at least { $n } characters.
invalid-password-long = The password must be at most { $n } characters.
invalid-phone = Enter a phone number in international form, such as +447911123456.
invalid-phone-premium = This number cannot receive codes (premium-rate, toll-free or service number).
invalid-channel = Choose SMS, voice call or e-mail.

## Known conflicts, said in full.
conflict-sign-in-complete = This sign-in is already complete.
conflict-code-just-used = This code has just been used; wait for the next one.
conflict-password-changed = The password was changed meanwhile; sign in again.
conflict-no-authenticator = No authenticator is bound; choose another method.
conflict-method-unavailable = This method is not available for this account.
conflict-no-phone = No phone is bound to this account.

## Whole-page refusals.
page-form-expired-title = This form has expired
page-form-expired-text = For your safety the form was not accepted. Go back, reload the page and try again.
page-too-large-title = Too much data
page-too-large-text = The form was too large.
page-incomplete-title = Something is missing
page-incomplete-text = The form was incomplete; go back and try again.
page-failure-title = Something went wrong on our side
failure-title-too-many = Too many attempts
failure-title-busy = Busy for a moment: please try again
failure-title-not-found = Not found
failure-title-conflict = This cannot be done now
failure-title-forbidden = Not allowed
failure-title-unauthorized = Please sign in again
failure-title-refused = This request could not be completed

# Ce qu’une page dit d’un refus. Voir locales/en/errors.ftl.

## Refus d’un cas d’usage, par type.
error-invalid-code = Ce code est faux, expiré ou déjà utilisé.
error-code-already-used = Ce code a déjà été utilisé. Attendez le code suivant dans votre application et saisissez-le.
error-captcha-failed = L’énigme de connexion a expiré ou n’a pas été résolue ; veuillez réessayer.
error-captcha-too-easy = Après plusieurs mauvais mots de passe pour cette adresse, la connexion demande une énigme plus difficile. Votre navigateur la résout à votre prochaine tentative ; cela peut prendre un peu plus de temps.
error-step-up-required = Confirmez d’abord votre identité, puis réessayez.
error-email-unverified = Confirmez d’abord votre adresse e-mail avec le code que nous vous avons envoyé.
error-too-many-attempts = Trop de tentatives. Veuillez patienter { $wait } et réessayer.
error-security-hold = Les retraits sont suspendus par une mesure de sécurité jusqu’au { $until }.
error-invalid-credentials = Cette adresse e-mail et ce mot de passe n’ont pas été acceptés.
error-unauthorized = Reconnectez-vous : la session ou la connexion a expiré.
error-forbidden = Vous n’êtes pas autorisé à faire cela.
error-not-found = Il n’y a rien ici.
error-conflict = Ce n’est pas possible pour le moment. Rechargez la page et réessayez.
error-payload-too-large = Ce que vous avez envoyé est trop volumineux.
error-unsupported-media = Ce type de fichier n’est pas accepté.
error-unavailable = Le service est momentanément indisponible ; réessayez.
error-busy = Le service est occupé ; réessayez dans un instant.
error-internal = Une erreur s’est produite de notre côté.
error-invalid = Cette valeur n’est pas acceptée.
error-wait-seconds = { $n ->
        [one] { $n } seconde
       *[other] { $n } secondes
    }
error-wait-minutes = { $n ->
        [one] { $n } minute
       *[other] { $n } minutes
    }
error-wait-hours = { $n ->
        [one] { $n } heure
       *[other] { $n } heures
    }

## Refus d’un champ, selon ce qui n’allait pas.
invalid-required = Ce champ est obligatoire.
invalid-email = Saisissez une adresse e-mail comme nom@example.com.
invalid-email-too-long = Cette adresse e-mail est trop longue.
invalid-email-invisible = L’adresse e-mail ne doit pas contenir de caractères invisibles ou de direction du texte.
invalid-email-spaces = L’adresse e-mail ne doit pas contenir d’espaces ni de caractères de contrôle.
invalid-email-bare = Saisissez l’adresse seule, comme nom@example.com, sans nom, guillemets, chevrons ni commentaires.
invalid-email-one-at = L’adresse e-mail doit contenir exactement un @.
invalid-email-local-length = La partie avant le @ doit compter de 1 à 64 caractères.
invalid-email-local-chars = La partie avant le @ ne peut contenir que des lettres, des chiffres et . ! # $ % & ' * + - / = ^ _ ` { "{" } | { "}" } ~
invalid-email-local-dots = La partie avant le @ ne doit ni commencer ni finir par un point, ni en contenir deux de suite.
invalid-email-local-scripts = La partie avant le @ ne doit pas mélanger des lettres de différentes écritures (par exemple latine et cyrillique).
invalid-email-domain = Le domaine de l’adresse e-mail n’est pas un nom de domaine valide.
invalid-email-domain-dot = Le domaine de l’adresse e-mail doit contenir un point.
invalid-email-domain-scripts = Le domaine ne doit pas mélanger des lettres de différentes écritures (par exemple latine et cyrillique).
invalid-password-short = Le mot de passe doit compter au moins { $n } caractères.
invalid-password-long = Le mot de passe doit compter au plus { $n } caractères.
invalid-phone = Saisissez un numéro de téléphone au format international, comme +33612345678.
invalid-phone-premium = Ce numéro ne peut pas recevoir de codes (numéro surtaxé, gratuit ou de service).
invalid-channel = Choisissez SMS, appel vocal ou e-mail.

## Conflits connus, dits en entier.
conflict-sign-in-complete = Cette connexion est déjà terminée.
conflict-code-just-used = Ce code vient d’être utilisé ; attendez le suivant.
conflict-password-changed = Le mot de passe a été modifié entre-temps ; reconnectez-vous.
conflict-no-authenticator = Aucune application d’authentification n’est associée ; choisissez une autre méthode.
conflict-method-unavailable = Cette méthode n’est pas disponible pour ce compte.
conflict-no-phone = Aucun téléphone n’est associé à ce compte.

## Refus d’une page entière.
page-form-expired-title = Ce formulaire a expiré
page-form-expired-text = Pour votre sécurité, le formulaire n’a pas été accepté. Revenez en arrière, rechargez la page et réessayez.
page-too-large-title = Trop de données
page-too-large-text = Le formulaire était trop volumineux.
page-incomplete-title = Il manque quelque chose
page-incomplete-text = Le formulaire était incomplet ; revenez en arrière et réessayez.
page-failure-title = Une erreur s’est produite de notre côté
failure-title-too-many = Trop de tentatives
failure-title-busy = Occupé un instant : réessayez
failure-title-not-found = Introuvable
failure-title-conflict = Impossible pour le moment
failure-title-forbidden = Non autorisé
failure-title-unauthorized = Reconnectez-vous
failure-title-refused = Cette demande n’a pas pu aboutir

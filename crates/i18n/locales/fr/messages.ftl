# Courriels et SMS. Voir locales/en/messages.ftl.

## Messages qui portent un code.
code-sms = Votre code { $app } est { $code }. Il expire dans { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }. Ne le communiquez à personne.
code-voice = Votre code { $app } est : { $code }. Je répète, votre code est : { $code }.
code-email-subject = Votre code { $app }
code-email-body =
    Votre code { $app } est { $code }. Il expire dans { $minutes ->
            [one] { $minutes } minute
           *[other] { $minutes } minutes
        }.

    Ne le communiquez à personne : l’équipe { $app } ne vous le demandera jamais.

## À quoi sert un code envoyé par courriel, après son message.
code-why-signup = Ce code confirme cette adresse pour un nouveau compte { $app }. Si vous ne vous êtes pas inscrit, ne faites rien : aucun compte n’est créé sans lui.
code-why-login = Vous vous êtes connecté avec votre mot de passe et avez demandé ce code pour terminer. Si ce n’était pas vous, quelqu’un connaît votre mot de passe : changez-le, ou gelez votre compte avec le lien à la fin de ce courriel.
code-why-step-up = Ce code confirme une modification de la sécurité de votre compte. Si vous ne l’avez pas demandé, quelqu’un est connecté à votre place : gelez votre compte avec le lien à la fin de ce courriel.
code-why-password-reset = Quelqu’un a demandé à réinitialiser votre mot de passe avec cette adresse. Si ce n’était pas vous, ne communiquez pas ce code ; votre mot de passe reste le même. Pour arrêter toute connexion, gelez votre compte avec le lien à la fin de ce courriel.
code-why-freeze = Ce code gèle votre compte : plus de connexion ni de retrait jusqu’à ce qu’une récupération examinée vous le rende. Si vous ne l’avez pas demandé, ne faites rien.
code-why-recovery = Ce code confirme cette adresse pour la récupération de votre compte { $app }, qui en réinitialise la sécurité. Si vous n’en avez pas ouvert, ne communiquez pas ce code et annulez la récupération avec le code du courriel qui vous l’a annoncée.

## La phrase sur la suspension des retraits après une modification.
mail-hold-days = Les retraits sont suspendus pendant { $n ->
        [one] { $n } jour
       *[other] { $n } jours
    }.
mail-hold-hours = Les retraits sont suspendus pendant { $n ->
        [one] { $n } heure
       *[other] { $n } heures
    }.
mail-hold-minutes = Les retraits sont suspendus pendant { $n ->
        [one] { $n } minute
       *[other] { $n } minutes
    }.
mail-hold-seconds = Les retraits sont suspendus pendant { $n ->
        [one] { $n } seconde
       *[other] { $n } secondes
    }.

mail-signup-existing-subject = Tentative d’inscription avec votre adresse
mail-signup-existing-body = Quelqu’un a essayé de créer un compte { $app } avec votre adresse e-mail. Vous avez déjà un compte et rien n’a été modifié ; si c’était vous, connectez-vous plutôt.

mail-totp-added-subject = Application d’authentification ajoutée
mail-totp-added-body = Une application d’authentification a été ajoutée à votre compte { $app }. { $hold }Si ce n’était pas vous, lancez immédiatement la récupération du compte.
mail-totp-replaced-subject = Application d’authentification remplacée
mail-totp-replaced-body = L’application d’authentification de votre compte { $app } a été remplacée. { $hold }Si ce n’était pas vous, lancez immédiatement la récupération du compte.
mail-totp-removed-subject = Application d’authentification retirée
mail-totp-removed-body = L’application d’authentification a été retirée de votre compte { $app }. { $hold }Si ce n’était pas vous, contactez immédiatement l’assistance.
mail-passkey-added-subject = Clé d’accès ajoutée
mail-passkey-added-body = Une clé d’accès nommée « { $name } » a été ajoutée à votre compte { $app }. { $hold }Si ce n’était pas vous, lancez immédiatement la récupération du compte.
mail-passkey-removed-subject = Clé d’accès retirée
mail-passkey-removed-body = La clé d’accès nommée « { $name } » a été retirée de votre compte { $app }. { $hold }Si ce n’était pas vous, contactez immédiatement l’assistance.
mail-passkey-clone-subject = Une clé d’accès a été refusée
mail-passkey-clone-body = Votre clé d’accès « { $name } » a signé avec un compteur plus bas qu’avant, ce qui arrive quand une copie est utilisée. La connexion a été refusée. Si vous ne venez pas de l’utiliser, gelez votre compte et retirez cette clé.

mail-password-changed-subject = Votre mot de passe a été modifié
mail-password-changed-recovery-stopped = La récupération de compte en cours a été arrêtée.
mail-password-changed-body = Le mot de passe de votre compte { $app } a été modifié et vos autres sessions ont été déconnectées. { $hold }{ $stopped }Si ce n’était pas vous, lancez immédiatement la récupération du compte.

mail-phone-changed-subject = Votre numéro de téléphone a changé
mail-phone-replaced-body = Le numéro de téléphone de votre compte { $app } a été remplacé par { $phone }. { $hold }Si ce n’était pas vous, lancez immédiatement la récupération du compte.
mail-phone-added-hold-body = Le numéro de téléphone { $phone } a été ajouté à votre compte { $app }. { $hold }Si ce n’était pas vous, lancez immédiatement la récupération du compte.
mail-phone-added-body = Le numéro de téléphone { $phone } a été ajouté à votre compte { $app }. Si ce n’était pas vous, changez votre mot de passe et contactez l’assistance.

mail-questions-changed-subject = Questions de sécurité modifiées
mail-questions-changed-body = Les questions de sécurité de votre compte ont été modifiées. Si ce n’était pas vous, lancez immédiatement la récupération du compte.

mail-staff-recovery-refused-subject = Récupération refusée pour votre compte d’équipe
mail-staff-recovery-refused-body = Quelqu’un qui connaît le mot de passe de votre compte d’équipe { $app } a essayé de lancer une récupération de compte (depuis l’IP { $ip }). Les comptes d’équipe ne peuvent pas être récupérés ainsi et rien n’a été modifié. Si ce n’était pas vous, changez votre mot de passe maintenant et prévenez un administrateur.

mail-staff-reset-requested-subject = Réinitialisation de compte d’équipe demandée
mail-staff-reset-requested-body = Un administrateur a demandé la réinitialisation de : { $items } pour votre compte d’équipe { $app }. Elle n’a lieu que si un second administrateur l’approuve, dans les { $hours ->
        [one] { $hours } heure
       *[other] { $hours } heures
    }. Si vous ne l’avez pas demandée, prévenez immédiatement vos administrateurs.
mail-staff-reset-subject = Votre compte d’équipe a été réinitialisé
mail-staff-reset-body = Deux administrateurs ont réinitialisé : { $items } pour votre compte d’équipe { $app } et toutes les sessions ont été déconnectées. Connectez-vous, associez une nouvelle application d’authentification et demandez à un administrateur de confirmer votre compte : d’ici là, il n’a aucun accès d’équipe. Si vous ne l’avez pas demandé, prévenez immédiatement vos administrateurs.
mail-staff-confirmed-subject = Votre compte d’équipe a été confirmé
mail-staff-confirmed-body = Un administrateur a confirmé votre compte d’équipe { $app } après sa réinitialisation : son accès d’équipe est rétabli. Si vous ne l’avez pas demandé, prévenez immédiatement vos administrateurs.

## Ce qu’une récupération réinitialise.
mail-item-authenticator = application d’authentification
mail-item-phone = téléphone
mail-item-passkeys = clés d’accès
mail-item-email = adresse e-mail
mail-item-password = mot de passe

mail-recovery-cancel-instructions =
    Si ce n’était pas vous, arrêtez-la maintenant : { $link }
    (ou donnez ce code d’annulation à l’assistance)
    code d’annulation : { $code }
sms-recovery-started = Une récupération de votre compte a commencé. Pas vous ? Arrêtez-la : { $link }
sms-recovery-submitted = Une demande de récupération de votre compte a été envoyée pour examen. Pas vous ? Arrêtez-la : { $link }
mail-recovery-withdrawn-subject = Demande de récupération retirée
mail-recovery-withdrawn-body = La demande de récupération de votre compte sans son second facteur a été retirée par la personne qui l’avait faite. Rien n’a été changé sur votre compte.
mail-recovery-started-subject = Récupération de compte lancée
mail-recovery-started-body =
    Quelqu’un qui connaît votre mot de passe a commencé à récupérer votre compte sans son second facteur (depuis l’IP { $ip }). Si c’était vous, continuez. Sinon, arrêtez-la maintenant et changez votre mot de passe.

    { $cancel }
mail-recovery-submitted-subject = Demande de récupération de compte envoyée
mail-recovery-submitted-body =
    Une demande de récupération de votre compte a été envoyée pour examen. Elle demande de réinitialiser : { $items }. Si elle est approuvée, les retraits restent bloqués pendant { $hours ->
            [one] { $hours } heure
           *[other] { $hours } heures
        }.

    { $cancel }
mail-recovery-approved-subject = Récupération de compte approuvée
mail-recovery-approved-body = La récupération de votre compte a été approuvée : { $items } réinitialisé(s), toutes les sessions déconnectées. Les retraits sont bloqués pendant { $hours ->
        [one] { $hours } heure
       *[other] { $hours } heures
    }. Si ce n’était pas vous, utilisez immédiatement le code d’annulation de notre message précédent : le compte sera gelé jusqu’à ce que notre équipe l’ait examiné.
mail-recovery-rejected-subject = Récupération de compte refusée
mail-recovery-rejected-body = La demande de récupération de votre compte a été refusée ; rien n’a été modifié. Si elle venait de vous, vous pouvez en faire une nouvelle avec davantage de justificatifs.
mail-account-frozen-subject = Compte gelé
mail-account-frozen-body = Vous avez utilisé votre code d’annulation après l’approbation d’une récupération de votre compte. Le compte est gelé : personne ne peut se connecter ni effectuer de retrait tant que notre équipe ne l’a pas examiné, et toute récupération en cours a été arrêtée.
mail-recovery-stopped-subject = Récupération de compte arrêtée
mail-recovery-stopped-by-code-body = Vous avez utilisé votre code d’annulation : toute récupération de votre compte en cours a été arrêtée et rien n’a été modifié. Quelqu’un connaît peut-être votre mot de passe : changez-le maintenant.
mail-recovery-stopped-signed-in-body = Toute récupération de votre compte en cours a été arrêtée depuis votre compte connecté. Quelqu’un connaît peut-être votre mot de passe : changez-le maintenant.
sms-passkey-added = { $app } : une clé d’accès a été ajoutée à votre compte. Ce n’était pas vous ? Gelez votre compte : { $link }
sms-passkey-removed = { $app } : une clé d’accès a été retirée de votre compte. Ce n’était pas vous ? Gelez votre compte : { $link }
sms-passkey-clone = { $app } : une copie de l’une de vos clés d’accès a été refusée. Ce n’était pas vous ? Gelez votre compte : { $link }

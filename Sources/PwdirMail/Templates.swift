import Foundation
import Mustache
import PwdirCore

/// The mails pwdir sends, in English and French, rendered with swift-mustache. An administrator
/// overrides one with a file `templates_dir/NAME.LANG.mustache`: a first line `Subject: …`, an
/// empty line, then the body. Placeholders: {{login}}, {{full_name}}, {{password}}, {{code}},
/// {{host}}, {{expires}}, {{uri}}, {{secret}}, {{issuer}}, and the section {{#must_change}}…{{/must_change}}.
public enum MailTemplate: String, CaseIterable, Sendable {
    /// The welcome kit: login and temporary password.
    case credentials
    /// A self-service recovery code.
    case recoveryCode = "recovery-code"
    /// Notice after a password was changed by recovery.
    case passwordChanged = "password-changed"
    /// A second factor's key, for an authenticator app.
    case totpEnrolment = "totp-enrolment"
}

public struct RenderedMail: Sendable {
    public var subject: String
    public var body: String
}

public struct MailTemplates: Sendable {
    public let directory: String?

    public init(directory: String?) {
        self.directory = directory
    }

    /// Renders `template` in `language` with `values` (strings, or Bool for sections).
    public func render(_ template: MailTemplate, language: MailLanguage, values: [String: Any]) throws(PwdirError) -> RenderedMail {
        let source = try self.source(template, language: language)
        let parsed: MustacheTemplate
        do {
            // Mail is plain text: nothing may be HTML-escaped.
            parsed = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source)
        } catch {
            throw .invalidValue(field: "template \(template.rawValue).\(language.rawValue)", reason: "it does not parse as Mustache: \(error)")
        }
        let text = parsed.render(values)
        guard text.hasPrefix("Subject:"), let end = text.range(of: "\n\n") else {
            throw .invalidValue(field: "template \(template.rawValue).\(language.rawValue)", reason: "it must start with a 'Subject: …' line and an empty line")
        }
        let subject = text[text.index(text.startIndex, offsetBy: 8)..<end.lowerBound].trimmingCharacters(in: .whitespaces)
        if subject.contains(where: { $0 == "\n" || $0 == "\r" }) {
            throw .invalidValue(field: "template \(template.rawValue).\(language.rawValue)", reason: "its subject spans more than one line")
        }
        return RenderedMail(subject: subject, body: String(text[end.upperBound...]))
    }

    func source(_ template: MailTemplate, language: MailLanguage) throws(PwdirError) -> String {
        if let directory {
            let path = "\(directory)/\(template.rawValue).\(language.rawValue).mustache"
            if FileManager.default.fileExists(atPath: path) {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw .invalidValue(field: "template", reason: "\(path) cannot be read as UTF-8 text")
                }
                return text.replacingOccurrences(of: "\r\n", with: "\n")
            }
        }
        return Self.builtIn[template]![language]!
    }

    static let builtIn: [MailTemplate: [MailLanguage: String]] = [
        .credentials: [
            .en: """
            Subject: Your account on {{host}}

            Hello {{full_name}},

            Here is how to log in to {{host}}:

                Login:              {{login}}
                Temporary password: {{password}}

            {{#must_change}}
            You will be asked to choose your own password when you first log in.
            {{#expires}}
            This temporary password stops working on {{expires}} if it is not used.
            {{/expires}}

            {{/must_change}}
            If you did not expect this message, tell your administrator.
            """,
            .fr: """
            Subject: Vos accès à {{host}}

            Bonjour {{full_name}},

            Voici comment vous connecter à {{host}} :

                Identifiant :             {{login}}
                Mot de passe temporaire : {{password}}

            {{#must_change}}
            Vous devrez choisir votre propre mot de passe à la première connexion.
            {{#expires}}
            Ce mot de passe temporaire ne fonctionnera plus après le {{expires}} s'il n'est pas utilisé.
            {{/expires}}

            {{/must_change}}
            Si vous n'attendiez pas ce message, prévenez votre administrateur.
            """,
        ],
        .recoveryCode: [
            .en: """
            Subject: Your password recovery code for {{host}}

            Hello {{full_name}},

            Someone asked to reset the password of the account {{login}} on {{host}}.
            To choose a new password, type this code at the "Recovery code:" prompt:

                {{code}}

            It can be used once, until {{expires}}.
            If you did not ask for it, ignore this message: your password has not changed.
            """,
            .fr: """
            Subject: Votre code de récupération pour {{host}}

            Bonjour {{full_name}},

            Une demande de nouveau mot de passe a été faite pour le compte {{login}} sur {{host}}.
            Pour choisir un nouveau mot de passe, saisissez ce code à l'invite « Recovery code: » :

                {{code}}

            Il n'est utilisable qu'une fois, jusqu'au {{expires}}.
            Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe n'a pas changé.
            """,
        ],
        .passwordChanged: [
            .en: """
            Subject: Your password on {{host}} was changed

            Hello {{full_name}},

            The password of the account {{login}} on {{host}} was changed with a recovery code.
            If this was not you, tell your administrator at once.
            """,
            .fr: """
            Subject: Votre mot de passe sur {{host}} a été changé

            Bonjour {{full_name}},

            Le mot de passe du compte {{login}} sur {{host}} a été changé avec un code de récupération.
            Si ce n'était pas vous, prévenez immédiatement votre administrateur.
            """,
        ],
        .totpEnrolment: [
            .en: """
            Subject: Your second factor for {{host}}

            Hello {{full_name}},

            Logging in to {{host}} as {{login}} now takes a verification code from an
            authenticator app as well as your password. Add this account to the app: open
            this link on your phone, or choose "enter a setup key" and type the key.

                {{uri}}

                Account: {{issuer}}:{{login}}
                Key:     {{secret}}
                Type:    time-based, 6 digits, every 30 seconds

            Then delete this message: whoever has the key can make your codes.
            If you did not expect this message, tell your administrator.
            """,
            .fr: """
            Subject: Votre second facteur pour {{host}}

            Bonjour {{full_name}},

            Pour vous connecter à {{host}} en tant que {{login}}, il faut désormais un code de
            vérification donné par une application d'authentification, en plus de votre mot de
            passe. Ajoutez ce compte à l'application : ouvrez ce lien sur votre téléphone, ou
            choisissez « saisir une clé » et tapez la clé.

                {{uri}}

                Compte : {{issuer}}:{{login}}
                Clé :    {{secret}}
                Type :   basé sur le temps, 6 chiffres, toutes les 30 secondes

            Supprimez ensuite ce message : qui possède la clé peut produire vos codes.
            Si vous n'attendiez pas ce message, prévenez votre administrateur.
            """,
        ],
    ]
}

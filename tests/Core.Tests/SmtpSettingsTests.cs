using AccountFunctions.Core.Email;
using MailKit.Security;

namespace AccountFunctions.Core.Tests;

/// <summary>Email__Smtp__…: what the presets fill, what explicit settings override, what is refused at start.</summary>
public sealed class SmtpSettingsTests
{
    private static SmtpOptions OAuth(string? preset = null, string? tenant = null) => new()
    {
        Preset = preset,
        Auth = "OAuth2",
        Username = "mailer@example.test",
        OAuth = new SmtpOAuthOptions { ClientId = "client", ClientSecret = "secret", RefreshToken = "refresh", Tenant = tenant },
    };

    [Fact]
    public void TheGmailPresetFillsHostPortImplicitTlsTokenEndpointAndScope()
    {
        var s = SmtpSettings.Resolve(OAuth("Gmail"));

        Assert.Equal("smtp.gmail.com", s.Host);
        Assert.Equal(465, s.Port);
        Assert.Equal(SecureSocketOptions.SslOnConnect, s.Security);
        Assert.Equal(SmtpAuth.OAuth2, s.Auth);
        Assert.Equal("mailer@example.test", s.Username);
        Assert.Equal(new Uri("https://oauth2.googleapis.com/token"), s.OAuth!.TokenEndpoint);
        Assert.Equal("https://mail.google.com/", s.OAuth.Scope);
        Assert.Equal("client", s.OAuth.ClientId);
        Assert.Equal("secret", s.OAuth.ClientSecret);
        Assert.Equal("refresh", s.OAuth.RefreshToken);
    }

    [Fact]
    public void TheMicrosoft365PresetFillsStartTlsOn587AndTheTenantsV2TokenEndpoint()
    {
        var s = SmtpSettings.Resolve(OAuth("microsoft365", tenant: "contoso.onmicrosoft.com"));

        Assert.Equal("smtp.office365.com", s.Host);
        Assert.Equal(587, s.Port);
        Assert.Equal(SecureSocketOptions.StartTls, s.Security);
        Assert.Equal(new Uri("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"), s.OAuth!.TokenEndpoint);
        Assert.Equal("https://outlook.office.com/SMTP.Send offline_access", s.OAuth.Scope);
    }

    [Fact]
    public void EveryPresetValueCanBeOverriddenByItsExplicitSetting()
    {
        var o = OAuth("Gmail");
        o.Host = "smtp-relay.gmail.com";
        o.Port = 587;
        o.Security = "StartTls";
        o.OAuth.TokenEndpoint = "https://tokens.example.test/token";
        o.OAuth.Scope = "https://mail.google.com/ extra";

        var s = SmtpSettings.Resolve(o);

        Assert.Equal("smtp-relay.gmail.com", s.Host);
        Assert.Equal(587, s.Port);
        Assert.Equal(SecureSocketOptions.StartTls, s.Security);
        Assert.Equal(new Uri("https://tokens.example.test/token"), s.OAuth!.TokenEndpoint);
        Assert.Equal("https://mail.google.com/ extra", s.OAuth.Scope);
    }

    [Fact]
    public void AnExplicitTokenEndpointMakesTheMicrosoft365TenantUnnecessaryAndEmptySettingsCountAsUnset()
    {
        // local.settings.sample.json lists every setting with "" as its placeholder.
        var o = OAuth("Microsoft365");
        o.OAuth.TokenEndpoint = "https://login.microsoftonline.com/organizations/oauth2/v2.0/token";
        o.OAuth.Scope = "";
        o.Host = "";
        o.Security = " ";

        var s = SmtpSettings.Resolve(o);

        Assert.Equal("https://login.microsoftonline.com/organizations/oauth2/v2.0/token", s.OAuth!.TokenEndpoint.ToString());
        Assert.Equal("https://outlook.office.com/SMTP.Send offline_access", s.OAuth.Scope);
        Assert.Equal("smtp.office365.com", s.Host);
        Assert.Equal(SecureSocketOptions.StartTls, s.Security);
    }

    [Fact]
    public void WithoutPresetOrAuthTheDefaultsAreTodaysPlainLocalSmtp()
    {
        var s = SmtpSettings.Resolve(new SmtpOptions());

        Assert.Equal("localhost", s.Host);
        Assert.Equal(1025, s.Port);
        Assert.Equal(SecureSocketOptions.None, s.Security);
        Assert.Equal(SmtpAuth.None, s.Auth);
        Assert.Null(s.OAuth);
    }

    [Fact]
    public void AUsernameWithoutAuthMeansAPasswordLoginAsBefore()
    {
        var s = SmtpSettings.Resolve(new SmtpOptions { Host = "mail.example.test", Username = "app", Password = "pw", Security = "StartTls" });

        Assert.Equal(SmtpAuth.Password, s.Auth);
        Assert.Equal("app", s.Username);
        Assert.Equal("pw", s.Password);
        Assert.Null(s.OAuth);
    }

    [Fact]
    public void ARefreshTokenWithoutAuthMeansOAuth2()
    {
        var o = OAuth("Gmail");
        o.Auth = null;

        Assert.Equal(SmtpAuth.OAuth2, SmtpSettings.Resolve(o).Auth);
    }

    [Theory]
    [InlineData("Preset", "Email__Smtp__Preset")]
    [InlineData("Auth", "Email__Smtp__Auth")]
    [InlineData("Security", "Email__Smtp__Security")]
    [InlineData("Tenant", "Email__Smtp__OAuth__Tenant")]
    [InlineData("BadTenant", "Email__Smtp__OAuth__Tenant")]
    [InlineData("ClientId", "Email__Smtp__OAuth__ClientId")]
    [InlineData("RefreshToken", "Email__Smtp__OAuth__RefreshToken")]
    [InlineData("Username", "Email__Smtp__Username")]
    [InlineData("HttpEndpoint", "Email__Smtp__OAuth__TokenEndpoint")]
    [InlineData("NoEndpoint", "Email__Smtp__OAuth__TokenEndpoint")]
    [InlineData("PlainText", "Email__Smtp__Security")]
    [InlineData("Ambiguous", "Email__Smtp__Auth")]
    public void AMisconfigurationIsRefusedNamingTheSettingButNotItsValue(string fault, string setting)
    {
        var o = OAuth("Microsoft365", tenant: "contoso.onmicrosoft.com");
        o.OAuth.ClientSecret = "s3cret-value";
        switch (fault)
        {
            case "Preset": o.Preset = "Yahoo"; break;
            case "Auth": o.Auth = "Kerberos"; break;
            case "Security": o.Security = "Tls"; break;
            case "Tenant": o.OAuth.Tenant = null; break;
            case "BadTenant": o.OAuth.Tenant = "contoso/../evil"; break;
            case "ClientId": o.OAuth.ClientId = " "; break;
            case "RefreshToken": o.OAuth.RefreshToken = null; break;
            case "Username": o.Username = null; break;
            case "HttpEndpoint": o.OAuth.TokenEndpoint = "http://tokens.example.test/token"; break;
            case "NoEndpoint": o.Preset = null; o.Host = "127.0.0.1"; break;
            case "PlainText": o.Security = "None"; break;
            case "Ambiguous": o.Auth = null; o.Password = "pw"; break;
        }

        var e = Assert.Throws<InvalidOperationException>(() => SmtpSettings.Resolve(o));

        Assert.Contains(setting, e.Message);
        Assert.DoesNotContain("s3cret-value", e.Message);
        Assert.DoesNotContain("refresh", e.Message.Replace("Email__Smtp__OAuth__RefreshToken", ""));
    }

    [Fact]
    public void OAuth2OverAPlainConnectionIsAllowedOnlyToThisMachineWithAnHttpTokenEndpointOnLoopback()
    {
        var o = OAuth();
        o.Host = "127.0.0.1";
        o.Security = "None";
        o.OAuth.TokenEndpoint = "http://127.0.0.1:5999/token";

        var s = SmtpSettings.Resolve(o);

        Assert.Equal(SecureSocketOptions.None, s.Security);
        Assert.Equal(new Uri("http://127.0.0.1:5999/token"), s.OAuth!.TokenEndpoint);
        Assert.Null(s.OAuth.Scope);
    }

    [Fact]
    public void TheSettingsPrintNoSecret()
    {
        var o = OAuth("Gmail");
        o.OAuth.ClientSecret = "s3cret-value";
        o.OAuth.RefreshToken = "1//refresh-value";

        var s = SmtpSettings.Resolve(o);

        Assert.DoesNotContain("s3cret-value", s.ToString() + s.OAuth);
        Assert.DoesNotContain("refresh-value", s.ToString() + s.OAuth);
    }
}

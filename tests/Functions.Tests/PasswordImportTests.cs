using System.Net;
using AccountFunctions.Core;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Tests.Hardening;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>An app with one signed-in bootstrap admin (AdminFixture).</summary>
public sealed class ImportFixture : AdminFixture;

/// <summary>Hashes from other systems: imported by an admin, verified at sign-in, then replaced.</summary>
public sealed class PasswordImportTests(ImportFixture fixture) : IClassFixture<ImportFixture>
{
    private TestApp App => fixture.App;

    // Made once with BCrypt.Net-Next (cost 10) and ASP.NET Core Identity's PasswordHasher (V3 and V2).
    private const string Bcrypt = "$2a$10$AlCmMF.FLcpKa.OJADbIT.3I.b8C.B8vzaMgpCv5vVAzOWD62Y0KG";
    private const string BcryptPassword = "imported from bcrypt";
    private const string IdentityV3 = "AQAAAAIAAYagAAAAEGUb+TolSrMhalievGDPISrrso4NsA5tR779RmA5bGd0zrHEVId0s0F2V1C0NoOsZA==";
    private const string IdentityV3Password = "imported from identity";
    private const string IdentityV2 = "AAvOQF8P+6jU4tK7nK9GGanz0Q85xR7gc2cNqyidy4dMIBqlVuFYXepB/i5Ypnnt6g==";
    private const string IdentityV2Password = "imported from identity v2";

    private async Task<string> ImportAsync(string email, string hash)
    {
        var response = await App.PostAsync("/api/manage/users/import", new { email, passwordHash = hash, firstName = "Imported" }, fixture.AdminToken);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await TestApp.Body(response);
        Assert.Equal("active", body.GetProperty("status").GetString());
        Assert.True(body.GetProperty("emailVerified").GetBoolean());
        return body.GetProperty("id").GetString()!;
    }

    private async Task<string?> StoredHashAsync(string id) =>
        (await App.Storage.Accounts.GetOrNullAsync<Account>(id, Account.Row))!.PasswordHash;

    [Theory]
    [InlineData(Bcrypt, BcryptPassword, "$2a$")]
    [InlineData(IdentityV3, IdentityV3Password, "$aspnet-identity$")]
    [InlineData(IdentityV2, IdentityV2Password, "$aspnet-identity$")]
    public async Task AnImportedHashSignsInAndIsReplacedByArgon2id(string hash, string password, string storedPrefix)
    {
        var email = TestApp.NewEmail("imported");
        var id = await ImportAsync(email, hash);
        Assert.StartsWith(storedPrefix, await StoredHashAsync(id));

        var wrong = await App.PostAsync("/api/login", new { identifier = email, password = password + "!" });
        Assert.Equal("invalid_credentials", await TestApp.Code(wrong));
        Assert.StartsWith(storedPrefix, await StoredHashAsync(id));

        await App.LoginAsync(email, password);
        Assert.StartsWith("$argon2id$v=19$m=19456,t=2,p=1$", await StoredHashAsync(id));
        await App.LoginAsync(email, password); // and the new hash verifies
    }

    [Fact]
    public async Task UpgradingTheHashAtSignInKeepsTheSessionsThatAlreadyExist()
    {
        var email = TestApp.NewEmail("imported");
        var id = await ImportAsync(email, Bcrypt);
        // A session that exists before the upgrade: a sign-in link (no password, so no rehash).
        var before = App.Mail.To(email).Count;
        await App.PostAsync("/api/login/email", new { email });
        var mail = (await App.Mail.WaitForAsync(email, before + 1))[before];
        var earlier = await TestApp.Body(await App.PostAsync("/api/login/email/redeem", new { token = mail.Token }));
        Assert.StartsWith("$2a$", await StoredHashAsync(id));

        await App.LoginAsync(email, BcryptPassword);

        Assert.StartsWith("$argon2id$", await StoredHashAsync(id));
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", earlier.GetProperty("accessToken").GetString())).StatusCode);
        var refreshed = await App.PostAsync("/api/token/refresh", new { refreshToken = earlier.GetProperty("refreshToken").GetString() });
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
    }

    [Fact]
    public async Task AnAddressCanBeImportedOnceAndNeverOntoAVerifiedAccount()
    {
        var email = TestApp.NewEmail("imported");
        await ImportAsync(email, Bcrypt);
        var again = await App.PostAsync("/api/manage/users/import", new { email = email.ToUpperInvariant(), passwordHash = IdentityV3 }, fixture.AdminToken);
        var existing = await App.SignupVerifiedAsync(TestApp.NewEmail());
        var onto = await App.PostAsync("/api/manage/users/import", new { email = existing, passwordHash = Bcrypt }, fixture.AdminToken);

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("email_taken", await TestApp.Code(again));
        Assert.Equal("email_taken", await TestApp.Code(onto));
        await App.LoginAsync(existing); // untouched
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain text password")]
    [InlineData("$2a$10$short")]
    [InlineData("$argon2id$v=19$m=19456,t=2,p=1$bad$bad")]
    [InlineData("AgAAAAEAACcQAAAAEA==")]
    public async Task AnUnknownHashFormatIsRefused(string hash)
    {
        var response = await App.PostAsync("/api/manage/users/import", new { email = TestApp.NewEmail(), passwordHash = hash }, fixture.AdminToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("validation_failed", await TestApp.Code(response));
        Assert.True((await TestApp.Body(response)).GetProperty("errors").TryGetProperty("passwordHash", out _));
    }

    [Fact]
    public async Task OnlyAdminsImport()
    {
        var user = (await App.LoginAsync(await App.SignupVerifiedAsync(TestApp.NewEmail()))).GetProperty("accessToken").GetString();
        var response = await App.PostAsync("/api/manage/users/import", new { email = TestApp.NewEmail(), passwordHash = Bcrypt }, user);
        var anonymous = await App.PostAsync("/api/manage/users/import", new { email = TestApp.NewEmail(), passwordHash = Bcrypt });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }
}

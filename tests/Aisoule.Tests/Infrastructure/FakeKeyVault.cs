using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Security.KeyVault.Secrets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// A loopback HTTPS server that behaves like Azure Key Vault's secrets REST API as the SDK uses it: the challenge
/// (an unauthenticated request gets 401 with <c>WWW-Authenticate: Bearer authorization=…, resource=…</c>), then
/// <c>PUT /secrets/{name}</c> and <c>GET /secrets/{name}/{version}</c> with a bearer token, 404
/// <c>SecretNotFound</c>, and 503 while <see cref="Down"/>. TLS with a certificate made for this run.
/// </summary>
internal sealed class FakeKeyVault : IAsyncDisposable
{
    public const string AccessToken = "kv-test-access-token";
    private readonly WebApplication _app;
    private readonly X509Certificate2 _certificate;
    private int _reads;
    private int _refused;

    private FakeKeyVault(WebApplication app, X509Certificate2 certificate) => (_app, _certificate) = (app, certificate);

    /// <summary>Current value of every secret set.</summary>
    public ConcurrentDictionary<string, string> Secrets { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Authenticated reads of a secret so far.</summary>
    public int Reads => _reads;

    /// <summary>Requests answered 503 because the vault was <see cref="Down"/>.</summary>
    public int Refused => _refused;

    /// <summary>While true, every request gets 503 (a vault outage).</summary>
    public bool Down { get; set; }

    public Uri VaultUri { get; private set; } = null!;

    public static async Task<FakeKeyVault> StartAsync()
    {
        var certificate = SelfSigned();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        var app = builder.Build();
        var vault = new FakeKeyVault(app, certificate);
        app.Use(async (http, next) =>
        {
            if (vault.Down)
            {
                Interlocked.Increment(ref vault._refused);
                http.Response.StatusCode = 503;
                return;
            }

            if (http.Request.Headers.Authorization.ToString() != "Bearer " + AccessToken)
            {
                http.Response.Headers.WWWAuthenticate = "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001\", resource=\"https://vault.azure.net\"";
                await Results.Json(new { error = new { code = "Unauthorized", message = "Request is missing a Bearer or PoP token." } }, statusCode: 401).ExecuteAsync(http);
                return;
            }

            await next(http);
        });
        app.MapPut("/secrets/{name}", async (HttpContext http, string name) =>
        {
            var body = (await JsonDocument.ParseAsync(http.Request.Body)).RootElement;
            var value = body.GetProperty("value").GetString()!;
            vault.Secrets[name] = value;
            return Secret(vault, name, value);
        });
        app.MapGet("/secrets/{name}/{version?}", (string name) =>
        {
            Interlocked.Increment(ref vault._reads);
            return vault.Secrets.TryGetValue(name, out var value)
                ? Secret(vault, name, value)
                : Results.Json(new { error = new { code = "SecretNotFound", message = $"A secret with (name/id) {name} was not found in this key vault." } }, statusCode: 404);
        });
        await app.StartAsync();
        vault.VaultUri = new Uri(app.Urls.First().Replace("127.0.0.1", "localhost", StringComparison.Ordinal));
        return vault;
    }

    /// <summary>A client for this vault as production builds one, with a test credential and trust in this run's certificate.</summary>
    public SecretClient Client()
    {
        var thumbprint = _certificate.Thumbprint;
        var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == thumbprint };
        var options = new SecretClientOptions { Transport = new HttpClientTransport(handler), DisableChallengeResourceVerification = true };
        options.Retry.MaxRetries = 1;
        options.Retry.Delay = TimeSpan.FromMilliseconds(50);
        return new SecretClient(VaultUri, new StaticToken(), options);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _certificate.Dispose();
    }

    private static IResult Secret(FakeKeyVault vault, string name, string value) => Results.Json(new
    {
        value,
        id = new Uri(vault.VaultUri, $"secrets/{name}/{Guid.NewGuid():N}").ToString(),
        attributes = new { enabled = true, created = 1_700_000_000, updated = 1_700_000_000, recoveryLevel = "Recoverable+Purgeable" },
    });

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    /// <summary>Stands in for the managed identity: Entra ID is not reachable from a test.</summary>
    private sealed class StaticToken : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(AccessToken, DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(GetToken(requestContext, cancellationToken));
    }
}

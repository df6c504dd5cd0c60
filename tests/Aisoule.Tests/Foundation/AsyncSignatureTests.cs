using System.Reflection;
using System.Runtime.CompilerServices;
using Aisoule.Core.Storage;
using Xunit;

namespace Aisoule.Tests.Foundation;

/// <summary>Core's async methods have the Azure SDK's shape: <c>CancellationToken cancellationToken = default</c> last.</summary>
public sealed class AsyncSignatureTests
{
    // Take no token on purpose: best-effort clean-ups that must finish even when the caller has given up (a cancelled
    // request still frees its Idempotency-Key).
    // Wrappers whose work brings its own token, and an Azure SDK policy override, which has the SDK's signature.
    private static readonly string[] Deliberate =
    [
        "PendingSends.ClearAsync", "IdempotencyStore.ReleaseAsync",
        "ReadOnlyStorage.RunAsync", "ReadOnlyStorage.ExemptAsync", "GuardPolicy.ProcessAsync",
    ];

    [Fact]
    public void Every_public_async_method_in_core_takes_a_cancellation_token_last_with_a_default()
    {
        var offenders = typeof(StorageAccount).Assembly.GetTypes()
            .Where(t => !t.IsDefined(typeof(CompilerGeneratedAttribute)))

            // A delegate type's Invoke/BeginInvoke/EndInvoke are made by the runtime from its declaration, not written here.
            .Where(t => !typeof(Delegate).IsAssignableFrom(t))
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly).Select(m => (Type: t, Method: m)))
            .Where(x => IsAsync(x.Method.ReturnType) && !x.Method.IsSpecialName && x.Method.Name != nameof(IAsyncDisposable.DisposeAsync))
            .Where(x => !Deliberate.Contains($"{x.Type.Name}.{x.Method.Name}"))
            .Where(x => x.Method.GetParameters() is not [.., { Name: "cancellationToken", HasDefaultValue: true } last] || last.ParameterType != typeof(CancellationToken))
            .Select(x => $"{x.Type.FullName}.{x.Method.Name}")
            .Distinct()
            .ToList();

        Assert.Empty(offenders);
    }

    private static bool IsAsync(Type type) =>
        type == typeof(Task) || type == typeof(ValueTask)
        || (type.IsGenericType && type.GetGenericTypeDefinition() is var g && (g == typeof(Task<>) || g == typeof(ValueTask<>) || g == typeof(IAsyncEnumerable<>)));
}

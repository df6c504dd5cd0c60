namespace Aisoule.Core.Identity;

/// <summary>One throttled count: the row <paramref name="Key"/> of <paramref name="Table"/>, admitting at most
/// <paramref name="Limit"/> attempts inside any rolling <paramref name="Window"/>.</summary>
public sealed record AttemptCounter(string Table, string Key, int Limit, TimeSpan Window);

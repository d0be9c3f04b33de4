using System.Collections.Concurrent;
using System.Reflection;
using Azure.Data.Tables;

namespace AccountFunctions.Core.Storage;

/// <summary>
/// Turns a <see cref="TableEntity"/> from a query that returns rows of several kinds (an account
/// and its session, an owner and its throttle state) into the typed row, as the SDK would have,
/// so one query can answer what would otherwise take one point read per kind.
/// </summary>
public static class EntityMapper
{
    private static readonly ConcurrentDictionary<Type, Dictionary<string, PropertyInfo>> Properties = new();

    public static T To<T>(TableEntity entity) where T : class, ITableEntity, new()
    {
        var row = new T { PartitionKey = entity.PartitionKey, RowKey = entity.RowKey, ETag = entity.ETag, Timestamp = entity.Timestamp };
        var properties = Properties.GetOrAdd(typeof(T), t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetIndexParameters().Length == 0
                && p.Name is not (nameof(ITableEntity.PartitionKey) or nameof(ITableEntity.RowKey) or nameof(ITableEntity.ETag) or nameof(ITableEntity.Timestamp)))
            .ToDictionary(p => p.Name));
        foreach (var (name, value) in entity)
        {
            if (value is null || !properties.TryGetValue(name, out var property)) continue;
            var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            property.SetValue(row, value switch
            {
                _ when target.IsInstanceOfType(value) => value,
                DateTimeOffset d when target == typeof(DateTime) => d.UtcDateTime,
                DateTime d when target == typeof(DateTimeOffset) => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)),
                string s when target.IsEnum => Enum.Parse(target, s),
                _ => Convert.ChangeType(value, target, System.Globalization.CultureInfo.InvariantCulture),
            });
        }
        return row;
    }
}
